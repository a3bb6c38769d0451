"""The one-off migration task: same image digest and secrets as the service, run by no service.

Migrations never run at container start (deployment notes, section 1): an operator runs this task
once per release with ``python -m ops migrate`` before the service rolls out the new image.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.containers import ContainerSpec, TaskSize, fargate_task_definition, migration_container_definitions


@dataclass
class MigrationTaskArgs:
    family: str
    size: TaskSize
    execution_role_arn: pulumi.Input[str]
    task_role_arn: pulumi.Input[str]
    container: ContainerSpec
    tags: dict[str, str]


class MigrationTask(pulumi.ComponentResource):
    task_definition_arn: pulumi.Output[str]

    def __init__(self, name: str, args: MigrationTaskArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("truecaller:infra:MigrationTask", name, None, opts)

        self.task_definition = fargate_task_definition(
            "migration",
            family=args.family,
            size=args.size,
            execution_role_arn=args.execution_role_arn,
            task_role_arn=args.task_role_arn,
            container_definitions=migration_container_definitions(args.container),
            tags=args.tags,
            parent=self,
        )
        self.task_definition_arn = self.task_definition.arn
        self.family = self.task_definition.family

        self.register_outputs({"taskDefinitionArn": self.task_definition_arn})
