# TFLint configuration for infra/terraform, used by the pull-request workflow. It lives here rather
# than next to the Terraform because only the pipeline runs tflint: its plugins come from GitHub
# releases, which the development machines cannot reach.
config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "recommended"
}

plugin "aws" {
  enabled = true
  version = "0.48.0"
  source  = "github.com/terraform-linters/tflint-ruleset-aws"
}
