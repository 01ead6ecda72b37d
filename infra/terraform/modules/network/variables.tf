variable "name" {
  description = "Name prefix for every network resource (e.g. hello-birthday-prod)."
  type        = string
}

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC; public and private /24 subnets are carved out of it."
  type        = string
  default     = "10.0.0.0/16"
}

variable "az_count" {
  description = "Number of Availability Zones to spread subnets (and so tasks) over."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 3
    error_message = "az_count must be 2 or 3: one AZ is not highly available, more adds endpoint cost without benefit at this size."
  }
}

variable "interface_endpoint_services" {
  description = "AWS services reached through interface VPC endpoints from the private subnets (short names such as ecr.api)."
  type        = list(string)
  default     = ["ecr.api", "ecr.dkr", "logs"]
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the VPC flow log group."
  type        = string
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow log group, in days."
  type        = number
  default     = 365
}
