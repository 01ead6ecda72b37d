variable "name" {
  description = "Name prefix of the stack; the alias becomes alias/<name> and only log groups whose name contains it may use the key."
  type        = string
}

variable "deletion_window_in_days" {
  description = "Waiting period before a scheduled key deletion completes."
  type        = number
  default     = 30
}
