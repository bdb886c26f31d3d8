"""ServiceFunction on its own: what `postbox:tracing` switches on (the stack's tests cover cdk.json's default, off)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk.assertions import Template

from infra.config import InfraConfig
from infra.constructs.function import ServiceFunction

XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def function_template(config: InfraConfig, outdir: str) -> dict[str, dict[str, Any]]:
    """The resources of a stack holding nothing but one ServiceFunction built with `config`."""
    stack = Stack(App(outdir=outdir), "FunctionOnly")
    ServiceFunction(
        stack,
        "Function",
        config=config,
        handler="functions.worker.handler.lambda_handler",
        description="ServiceFunction under test",
        environment={},
        memory_mb=128,
        timeout=Duration.seconds(3),
    )
    resources: dict[str, dict[str, Any]] = Template.from_stack(stack).to_json()["Resources"]
    return resources


def role_actions(resources: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    """The actions the function's role may perform, by the resource they are allowed on."""
    [function] = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    role = {"Ref": function["Properties"]["Role"]["Fn::GetAtt"][0]}
    allowed: dict[str, set[str]] = {}
    for resource in resources.values():
        if resource["Type"] != "AWS::IAM::Policy" or role not in resource["Properties"]["Roles"]:
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for target in targets:
                allowed.setdefault(str(target), set()).update(actions)
    return allowed


def function_properties(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    [function] = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    properties: dict[str, Any] = function["Properties"]
    return properties


def test_function_tracing_can_be_switched_on(
    infra_config: InfraConfig, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Given the configuration with tracing switched on (`cdk -c postbox:tracing=true`)
    config = dataclasses.replace(infra_config, tracing=True)

    # When building a ServiceFunction with it
    resources = function_template(config, str(tmp_path_factory.mktemp("cdk.out")))

    # Then the function is actively traced, Powertools' Tracer is enabled, and the role may send traces to X-Ray
    properties = function_properties(resources)
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert properties["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "false"
    assert "xray:PutTraceSegments" in role_actions(resources).get("*", set())


def test_function_tracing_is_off_when_switched_off(
    infra_config: InfraConfig, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Given the configuration with tracing switched off
    config = dataclasses.replace(infra_config, tracing=False)

    # When building a ServiceFunction with it
    resources = function_template(config, str(tmp_path_factory.mktemp("cdk.out")))

    # Then the function has no tracing config, the Tracer is disabled, and the role has no X-Ray permission at all
    properties = function_properties(resources)
    assert "TracingConfig" not in properties
    assert properties["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert not {
        action for actions in role_actions(resources).values() for action in actions if action.startswith("xray:")
    }
