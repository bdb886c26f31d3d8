"""Helpers for cdk-nag suppressions (NagSuppressions), which the tests check with the AwsSolutions pack."""

from __future__ import annotations

from aws_cdk import CfnElement, Stack
from constructs import IConstruct


def logical_id(construct: IConstruct | None) -> str:
    """The logical ID of a CloudFormation element, as cdk-nag writes it in IAM5's `applies_to` (`<Id.Arn>`).

    Known at construction: it depends only on the element's path in the stack.
    """
    if not isinstance(construct, CfnElement):
        raise TypeError(f"{construct!r} is not a CloudFormation element")
    stack = Stack.of(construct)
    return str(stack.resolve(stack.get_logical_id(construct)))
