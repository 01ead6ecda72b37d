output "user_pool_id" {
  description = "ID of the user pool."
  value       = aws_cognito_user_pool.this.id
}

output "user_pool_arn" {
  description = "ARN of the user pool."
  value       = aws_cognito_user_pool.this.arn
}

output "client_id" {
  description = "ID of the app client; the audience the service accepts."
  value       = aws_cognito_user_pool_client.this.id
}

output "issuer" {
  description = "Issuer (iss claim) of the pool's tokens."
  value       = "https://${aws_cognito_user_pool.this.endpoint}"
}

output "jwks_url" {
  description = "URL of the pool's JSON Web Key Set."
  value       = "https://${aws_cognito_user_pool.this.endpoint}/.well-known/jwks.json"
}

output "admin_group_name" {
  description = "Name of the admin group, or null when not created."
  value       = var.create_admin_group ? aws_cognito_user_group.admin[0].name : null
}

output "service_environment" {
  description = "Container environment that switches the service to JWT authentication against this pool."
  value = merge(
    {
      HELLO_AUTH         = "jwt"
      HELLO_JWT_ISSUER   = "https://${aws_cognito_user_pool.this.endpoint}"
      HELLO_JWT_AUDIENCE = aws_cognito_user_pool_client.this.id
      HELLO_JWT_JWKS_URL = "https://${aws_cognito_user_pool.this.endpoint}/.well-known/jwks.json"
    },
    # Members of the group may set anyone's date of birth (cognito:groups claim).
    { for group in aws_cognito_user_group.admin : "HELLO_JWT_ADMIN_SCOPE" => group.name },
  )
}
