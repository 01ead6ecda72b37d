resource "aws_ecr_repository" "this" {
  name = var.name
  # A tag is a git SHA and must always mean the same bytes.
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }
}

# Each deploy pushes one multi-platform image: a tagged index and one untagged
# manifest per platform. ECR counts every one of them as an image, so a rule
# over "any" image keeps a third as many deploys as its count says. Counting
# only tagged images keeps keep_tagged_images deploys; the untagged ones are
# kept by count too, as many as those indexes' platform manifests, so the
# children of a kept index are never expired (they are pushed just before it).
resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name

  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Keep the platform manifests of the newest tagged images"
        selection = {
          tagStatus   = "untagged"
          countType   = "imageCountMoreThan"
          countNumber = var.keep_tagged_images * var.platforms_per_image
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the newest tagged images (one per deploy)"
        selection = {
          tagStatus      = "tagged"
          tagPatternList = ["*"]
          countType      = "imageCountMoreThan"
          countNumber    = var.keep_tagged_images
        }
        action = { type = "expire" }
      },
    ]
  })
}

# Tasks have no route to the internet, so third-party images (the metrics
# collector) come through ECR: the first pull of <prefix>/<upstream path>
# creates that repository in this registry and imports the image from the
# upstream; later pulls are served from ECR. quay.io needs no credentials.
resource "aws_ecr_pull_through_cache_rule" "this" {
  count = var.pull_through_cache == null ? 0 : 1

  ecr_repository_prefix = var.pull_through_cache.prefix
  upstream_registry_url = var.pull_through_cache.upstream_registry_url
}
