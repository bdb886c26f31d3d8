"""EventBridge Scheduler: the group of the functions' schedules, and the role the schedules run as.

Built from functions.shared.resources.DELAY_SCHEDULES. The functions create one-time schedules that hold long waits
with the universal target `arn:aws:scheduler:::aws-sdk:sqs:sendMessage`, passing the role, and delete them when the
wait is cancelled. The API also creates the recurring schedules of cron schedules in the same group, with the same
role, targeting the worker function (WORKER_FUNCTION_ARN), and pauses, resumes and deletes them.
"""

from __future__ import annotations

from typing import cast

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from functions.shared.resources import DELAY_SCHEDULES, ScheduleGroupDef
from infra.constructs.nag import logical_id

SCHEDULER_SERVICE = "scheduler.amazonaws.com"
SCHEDULE_ACTIONS = (
    "scheduler:CreateSchedule",
    "scheduler:DeleteSchedule",
    "scheduler:GetSchedule",
    "scheduler:UpdateSchedule",  # pausing and resuming a cron schedule updates its state
)


class DelaySchedules(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        delivery_queue: sqs.IQueue,
        definition: ScheduleGroupDef = DELAY_SCHEDULES,
    ) -> None:
        super().__init__(scope, construct_id)
        # A schedule sends to this stack's queue (or invokes its worker) as this stack's role, so it is useless without
        # the stack: deleting the group (and the schedules in it) with the stack also frees its generated name.
        self.group = scheduler.ScheduleGroup(self, definition.logical_id, removal_policy=RemovalPolicy.DESTROY)
        # The group's Ref is its name; referencing it (not the literal) orders the functions after the group.
        self.group_name: str = cast(scheduler.CfnScheduleGroup, self.group.node.default_child).ref

        # Assumed by Scheduler on behalf of this account only (confused deputy), allowed to do nothing but send to the
        # queue and (once `allow_invoke` is called) invoke the worker.
        self.role = iam.Role(
            self,
            definition.role_logical_id,
            assumed_by=iam.ServicePrincipal(
                SCHEDULER_SERVICE, conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}}
            ),
            description="Postbox schedules: send due messages to the delivery queue, invoke the worker for cron",
        )
        # Not `grant_send_messages`, which adds GetQueueAttributes and GetQueueUrl; the queue uses SSE-SQS, so no KMS.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[delivery_queue.queue_arn])
        )

    def allow_invoke(self, function: lambda_.IFunction) -> None:
        """Let the schedules invoke `function` (the worker's target, of cron schedules and the sweep): that ARN only."""
        # Not `grant_invoke`, which also covers every version and alias (`<arn>:*`).
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn])
        )

    def grant_manage_schedules(self, grantee: iam.IGrantable) -> None:
        """Let `grantee` create, read, update and delete schedules in the group, and hand them the role (no other)."""
        schedules_arn = Stack.of(self).format_arn(
            service="scheduler", resource="schedule", resource_name=f"{self.group_name}/*"
        )
        iam.Grant.add_to_principal(grantee=grantee, actions=list(SCHEDULE_ACTIONS), resource_arns=[schedules_arn])
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["iam:PassRole"],
            resource_arns=[self.role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": SCHEDULER_SERVICE}},
        )
        principal = grantee.grant_principal
        if isinstance(principal, iam.Role):
            group_id = logical_id(self.group.node.default_child)
            NagSuppressions.add_resource_suppressions(
                principal,
                [
                    NagPackSuppression(
                        id="AwsSolutions-IAM5",
                        reason=(
                            "Schedules are created at run time, one per long wait or cron schedule, with generated "
                            "names: the grant covers the schedules of this stack's own group only."
                        ),
                        applies_to=[
                            "Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:"
                            f"schedule/<{group_id}>/*"
                        ],
                    )
                ],
                apply_to_children=True,  # the role's default policy, which holds the statement
            )
