resource "aws_cognito_user_pool" "this" {
  name                = var.name
  deletion_protection = var.deletion_protection ? "ACTIVE" : "INACTIVE"
  # Accounts are provisioned by an operator, not by self sign-up.
  admin_create_user_config {
    allow_admin_create_user_only = true
  }

  # The service compares the token's username claim with the path's username,
  # so users sign in with that name (not with an email, which would make the
  # claim a generated UUID); matching is case-insensitive like the service's.
  username_configuration {
    case_sensitive = false
  }

  auto_verified_attributes = ["email"]
  mfa_configuration        = "OPTIONAL"

  software_token_mfa_configuration {
    enabled = true
  }

  password_policy {
    minimum_length                   = 14
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = false
    temporary_password_validity_days = 3
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }
}

resource "aws_cognito_user_pool_client" "this" {
  name         = var.name
  user_pool_id = aws_cognito_user_pool.this.id
  # A public client (CLI, SPA) cannot keep a secret; SRP avoids sending the
  # password at all.
  generate_secret               = false
  explicit_auth_flows           = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
  prevent_user_existence_errors = "ENABLED"
  enable_token_revocation       = true

  access_token_validity  = var.access_token_validity_minutes
  id_token_validity      = var.access_token_validity_minutes
  refresh_token_validity = var.refresh_token_validity_days

  token_validity_units {
    access_token  = "minutes"
    id_token      = "minutes"
    refresh_token = "days"
  }
}

resource "aws_cognito_user_group" "admin" {
  count = var.create_admin_group ? 1 : 0

  name         = "admin"
  description  = "Administrators of ${var.name}"
  user_pool_id = aws_cognito_user_pool.this.id
}
