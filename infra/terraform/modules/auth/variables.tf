variable "name" {
  description = "Name of the user pool and app client."
  type        = string
}

variable "create_admin_group" {
  description = "Create an admin group whose members the service may treat as administrators (cognito:groups claim)."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Refuse to delete the user pool (and its users) until switched off."
  type        = bool
  default     = true
}

variable "access_token_validity_minutes" {
  description = "Lifetime of access and ID tokens, in minutes."
  type        = number
  default     = 60
}

variable "refresh_token_validity_days" {
  description = "Lifetime of refresh tokens, in days."
  type        = number
  default     = 30
}
