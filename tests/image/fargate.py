"""What the Terraform tells Fargate about the container, read from infra/terraform."""

from __future__ import annotations

from dataclasses import dataclass

from tests.infra.terraform import MODULES, TERRAFORM, argument, default, local, module_call


@dataclass(frozen=True)
class FargateTask:
    user: str
    cpu: int
    memory: int
    stop_timeout: int


def fargate_task() -> FargateTask:
    """Prod's task: the container definition's user, the environment's cpu and memory, and the
    service module's default stop timeout (no environment overrides it)."""
    service = MODULES / "ecs-service"
    prod = module_call(TERRAFORM / "envs" / "prod", "stack")
    return FargateTask(
        user=local(service, "container_definition")["user"],
        cpu=int(argument(prod, "service.cpu")),
        memory=int(argument(prod, "service.memory")),
        stop_timeout=int(default(service, "shutdown.stop_timeout_seconds")),
    )
