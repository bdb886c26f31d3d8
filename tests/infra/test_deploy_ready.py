"""What a first deploy in a real account would hit, caught from the template: alarms that can notify, resource
policies within Lambda's size limit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from infra.config import DEFAULT_WORKER_MAX_CONCURRENCY, InfraConfig, cdk_json_context
from infra.stack import PostboxStack
from tests.infra.test_hardening import Resources, of_type, policy_statements

LAMBDA_POLICY_LIMIT_BYTES = 20_480
LONGEST_REGION = "ap-southeast-5"  # (as long as any commercial region name)
LONG_STACK_NAME = "s" * 64
LONG_ARN_PART = 12 + len(LONGEST_REGION) + 12  # account id, region, API id


def test_cloudwatch_may_publish_this_stacks_alarms_to_the_topic(
    resources: Resources, infra_config: InfraConfig
) -> None:
    # Given the alarm topic's resource policy (which replaces SNS's default one)
    ((topic_id, _),) = of_type(resources, "AWS::SNS::Topic").items()
    statements = policy_statements(resources, "AWS::SNS::TopicPolicy", "Topics", topic_id)
    # Then CloudWatch may publish to it, from this account, for this stack's alarms
    cloudwatch = {"Service": "cloudwatch.amazonaws.com"}
    (allow,) = [s for s in statements if s["Effect"] == "Allow" and s["Principal"] == cloudwatch]
    assert allow["Action"] == "sns:Publish" and allow["Resource"] == {"Ref": topic_id}
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    arn_parts = allow["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Join"][1]
    assert arn_parts[-1] == f":alarm:{infra_config.stack_name}-*"
    # And every alarm of the stack is named under that prefix
    names = [alarm["Properties"]["AlarmName"] for alarm in of_type(resources, "AWS::CloudWatch::Alarm").values()]
    assert names and all(name.startswith(f"{infra_config.stack_name}-") for name in names)


def _policy_bytes(permissions: list[dict[str, Any]]) -> int:
    """An estimate of a function's resource policy: one statement per permission, ARNs at their longest."""
    size = len('{"Version":"2012-10-17","Id":"default","Statement":[]}')
    for permission in permissions:
        properties = permission["Properties"]
        statement = {
            "Sid": "x" * 100,  # CloudFormation names statements after the logical ID and the stack name
            "Effect": "Allow",
            "Principal": {"Service": properties["Principal"]},
            "Action": properties["Action"],
            "Resource": "arn:aws:lambda:" + LONGEST_REGION + ":123456789012:function:" + LONG_STACK_NAME + "-x" * 20,
            "Condition": {"ArnLike": {"AWS:SourceArn": _longest(properties.get("SourceArn"))}},
        }
        size += len(json.dumps(statement, separators=(",", ":"))) + 1
    return size


def _longest(value: Any) -> str:
    """A template value (Fn::Join of refs and strings) written out with every reference at its longest."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(_longest(part) for part in value["Fn::Join"][1])
    return "x" * max(LONG_ARN_PART, len(LONG_STACK_NAME))


def test_every_functions_resource_policy_is_far_from_lambdas_limit(resources: Resources) -> None:
    permissions = of_type(resources, "AWS::Lambda::Permission").values()
    by_function: dict[str, list[dict[str, Any]]] = {}
    for permission in permissions:
        target = json.dumps(permission["Properties"]["FunctionName"])
        by_function.setdefault(target, []).append(permission)
    for target, granted in by_function.items():
        assert len(granted) <= 5, (target, len(granted))
        assert _policy_bytes(granted) < LAMBDA_POLICY_LIMIT_BYTES / 2, (target, _policy_bytes(granted))


def test_the_workers_concurrency_is_capped_and_nothing_is_reserved_by_default(
    resources: Resources, infra_config: InfraConfig
) -> None:
    # Given the delivery queue's event source
    (mapping,) = of_type(resources, "AWS::Lambda::EventSourceMapping").values()
    # Then it runs at most the configured number of worker invocations at once (default 5)
    assert mapping["Properties"]["ScalingConfig"] == {"MaximumConcurrency": infra_config.worker_max_concurrency}
    assert infra_config.worker_max_concurrency == DEFAULT_WORKER_MAX_CONCURRENCY
    # And no function reserves concurrency (it fails to deploy where the account's pool is small)
    functions = of_type(resources, "AWS::Lambda::Function").values()
    assert all("ReservedConcurrentExecutions" not in f["Properties"] for f in functions)


def test_the_workers_concurrency_settings_are_checked_and_reserving_is_an_option(
    infra_config: InfraConfig, tmp_path: Path
) -> None:
    context = {
        **cdk_json_context(),
        "postbox:lambdaAssetDir": str(infra_config.lambda_asset_dir),
        "postbox:layerAssetDir": str(infra_config.layer_asset_dir),
    }
    for key, value in [("workerMaxConcurrency", 1), ("workerMaxConcurrency", 1001), ("workerReservedConcurrency", 0)]:
        with pytest.raises(ValueError, match=key):
            InfraConfig.from_mapping({**context, f"postbox:{key}": value})
    config = InfraConfig.from_mapping(
        {**context, "postbox:workerMaxConcurrency": "20", "postbox:workerReservedConcurrency": "25"}
    )
    stack = PostboxStack(App(outdir=str(tmp_path)), "Reserved", config=config)
    resources = Template.from_stack(stack).to_json()["Resources"]
    (mapping,) = of_type(resources, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 20}
    worker = next(
        f for f in of_type(resources, "AWS::Lambda::Function").values() if "worker" in f["Properties"]["Handler"]
    )
    assert worker["Properties"]["ReservedConcurrentExecutions"] == 25


def test_x86_64_is_an_option_and_a_layer_built_for_the_other_one_is_refused(
    infra_config: InfraConfig, tmp_path: Path
) -> None:
    context = {
        **cdk_json_context(),
        "postbox:lambdaAssetDir": str(infra_config.lambda_asset_dir),
        "postbox:layerAssetDir": str(infra_config.layer_asset_dir),
        "postbox:architecture": "x86_64",
    }
    stack = PostboxStack(App(outdir=str(tmp_path / "x86")), "X86", config=InfraConfig.from_mapping(context))
    functions = of_type(Template.from_stack(stack).to_json()["Resources"], "AWS::Lambda::Function").values()
    assert {tuple(f["Properties"]["Architectures"]) for f in functions} == {("x86_64",)}
    with pytest.raises(ValueError, match="architecture"):
        InfraConfig.from_mapping({**context, "postbox:architecture": "sparc"})
    # A layer folder built for arm64 cannot go with x86_64 functions
    layer = tmp_path / "layer"
    (layer / "python").mkdir(parents=True)
    (layer / ".architecture").write_text("arm64\n")
    mismatched = InfraConfig.from_mapping({**context, "postbox:layerAssetDir": str(layer)})
    with pytest.raises(ValueError, match="make build"):
        PostboxStack(App(outdir=str(tmp_path / "bad")), "Bad", config=mismatched)


def _stack_with(infra_config: InfraConfig, tmp_path: Path, name: str, **settings: str) -> Resources:
    """The resources of a stack synthesized with `postbox:<key>` settings over the session's context."""
    context = {
        **cdk_json_context(),
        "postbox:lambdaAssetDir": str(infra_config.lambda_asset_dir),
        "postbox:layerAssetDir": str(infra_config.layer_asset_dir),
        **{f"postbox:{key}": value for key, value in settings.items()},
    }
    stack = PostboxStack(App(outdir=str(tmp_path / name)), name, config=InfraConfig.from_mapping(context))
    found: Resources = Template.from_stack(stack).to_json()["Resources"]
    return found


def _by_handler(resources: Resources, feature: str) -> str:
    """The logical ID of the function whose handler is in `functions.<feature>`."""
    return next(
        logical_id
        for logical_id, f in of_type(resources, "AWS::Lambda::Function").items()
        if f["Properties"]["Handler"].startswith(f"functions.{feature}.")
    )


def test_snapstart_is_off_by_default(resources: Resources) -> None:
    functions = of_type(resources, "AWS::Lambda::Function").values()
    assert all("SnapStart" not in f["Properties"] for f in functions)
    assert not of_type(resources, "AWS::Lambda::Alias") and not of_type(resources, "AWS::Lambda::Version")


def test_snapstart_publishes_versions_and_everything_invokes_the_live_alias(
    infra_config: InfraConfig, tmp_path: Path
) -> None:
    # Given the stack with SnapStart on
    resources = _stack_with(infra_config, tmp_path, "Snap", snapStart="true")
    api, worker = _by_handler(resources, "api"), _by_handler(resources, "worker")
    # Then both functions are snapshotted on published versions, and each has a `live` alias on its current version
    aliases = {}
    for function_id in (api, worker):
        assert resources[function_id]["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
        (alias_id,) = [
            alias_id
            for alias_id, alias in of_type(resources, "AWS::Lambda::Alias").items()
            if alias["Properties"]["FunctionName"] == {"Ref": function_id}
        ]
        version = resources[alias_id]["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
        assert resources[alias_id]["Properties"]["Name"] == "live"
        assert resources[version]["Type"] == "AWS::Lambda::Version"
        assert resources[version]["Properties"]["FunctionName"] == {"Ref": function_id}
        # (a version the alias leaves is deleted with its cached snapshot, which is billed while it exists)
        assert resources[version]["DeletionPolicy"] == "Delete"
        aliases[function_id] = alias_id
    # And the queue's event source, the API's invoke permission, the schedules (the sweep, cron schedules through
    # WORKER_FUNCTION_ARN) and the scheduler role's grant all name the alias, never the function ($LATEST has no
    # snapshot)
    (mapping,) = of_type(resources, "AWS::Lambda::EventSourceMapping").values()
    assert f"{{'Ref': '{aliases[worker]}'}}" in str(mapping["Properties"]["FunctionName"])
    for permission in of_type(resources, "AWS::Lambda::Permission").values():
        assert permission["Properties"]["FunctionName"] == {"Ref": aliases[api]}
    (sweep,) = of_type(resources, "AWS::Scheduler::Schedule").values()
    assert sweep["Properties"]["Target"]["Arn"] == {"Ref": aliases[worker]}
    environment = resources[api]["Properties"]["Environment"]["Variables"]
    assert environment["WORKER_FUNCTION_ARN"] == {"Ref": aliases[worker]}
    invokes = [
        s
        for policy in of_type(resources, "AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "lambda:InvokeFunction"
    ]
    assert invokes and all(s["Resource"] == {"Ref": aliases[worker]} for s in invokes)


def test_the_function_url_front_door_replaces_the_http_api(infra_config: InfraConfig, tmp_path: Path) -> None:
    # Given the stack with the function URL front door, and the API's concurrency reserved
    resources = _stack_with(infra_config, tmp_path, "Url", frontDoor="functionUrl", apiReservedConcurrency="50")
    api = _by_handler(resources, "api")
    # Then there is no HTTP API, and the API function has a URL that anyone may call (it checks the token itself)
    assert not [r for r in resources.values() if r["Type"].startswith("AWS::ApiGatewayV2::")]
    (url,) = of_type(resources, "AWS::Lambda::Url").values()
    assert url["Properties"]["AuthType"] == "NONE"
    assert url["Properties"]["TargetFunctionArn"] == {"Fn::GetAtt": [api, "Arn"]}
    # And both permissions a function URL needs since October 2025, for calls through the URL only
    permissions = {
        p["Properties"]["Action"]: p["Properties"] for p in of_type(resources, "AWS::Lambda::Permission").values()
    }
    assert permissions["lambda:InvokeFunctionUrl"]["FunctionUrlAuthType"] == "NONE"
    assert permissions["lambda:InvokeFunction"]["InvokedViaFunctionUrl"] is True
    assert all(
        p["Principal"] == "*" and p["FunctionName"] == {"Fn::GetAtt": [api, "Arn"]} for p in permissions.values()
    )
    # And the API's concurrency is capped (its throttling, as the stage's was), the URL's 5xx alarm replaces the HTTP
    # API's
    assert resources[api]["Properties"]["ReservedConcurrentExecutions"] == 50
    (alarm,) = [
        a for a in of_type(resources, "AWS::CloudWatch::Alarm").values() if "api-5xx" in a["Properties"]["AlarmName"]
    ]
    (watched,) = alarm["Properties"]["Metrics"]
    assert watched["MetricStat"]["Metric"] == {
        "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": api}}],
        "MetricName": "Url5xxCount",
        "Namespace": "AWS/Lambda",
    }
    # With SnapStart too, the URL is the alias's
    snap = _stack_with(infra_config, tmp_path, "UrlSnap", frontDoor="functionUrl", snapStart="true")
    (url,) = of_type(snap, "AWS::Lambda::Url").values()
    assert url["Properties"]["Qualifier"] == "live"
    # A front door that does not exist is refused
    with pytest.raises(ValueError, match="frontDoor"):
        _stack_with(infra_config, tmp_path, "Bad", frontDoor="alb")


@pytest.mark.parametrize(
    "settings",
    [
        {"frontDoor": "functionUrl", "snapStart": "true", "apiReservedConcurrency": "50"},
        {"architecture": "x86_64", "snapStart": "true", "workerReservedConcurrency": "10"},
    ],
    ids=["function-url-snapstart", "x86_64-snapstart"],
)
def test_the_options_stay_cdk_nag_and_cfn_lint_clean(
    settings: dict[str, str], infra_config: InfraConfig, tmp_path: Path
) -> None:
    # Given the stack with options other than the defaults, checked by cdk-nag's AwsSolutions pack
    from aws_cdk import Aspects
    from aws_cdk.assertions import Annotations, Match
    from cdk_nag import AwsSolutionsChecks
    from cfnlint.api import ManualArgs, lint_file

    context = {
        **cdk_json_context(),
        "postbox:lambdaAssetDir": str(infra_config.lambda_asset_dir),
        "postbox:layerAssetDir": str(infra_config.layer_asset_dir),
        **{f"postbox:{key}": value for key, value in settings.items()},
    }
    app = App(outdir=str(tmp_path / "out"))
    stack = PostboxStack(app, "Options", config=InfraConfig.from_mapping(context))
    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    template = Template.from_stack(stack)
    # Then cdk-nag finds nothing unsuppressed
    annotations = Annotations.from_stack(stack)
    rule = Match.string_like_regexp("AwsSolutions-.*")
    findings = annotations.find_error("*", rule) + annotations.find_warning("*", rule)
    assert [f"{m.id}: {m.entry.data}" for m in findings] == []
    # And cfn-lint reports no error and no warning
    path = tmp_path / "Options.template.json"
    path.write_text(json.dumps(template.to_json(), indent=1))
    matches = lint_file(path, config=ManualArgs(regions=["us-east-1"]))
    assert [f"{m.rule.id} {m.message} ({m.path_string})" for m in matches if m.rule.id[0] in "EW"] == []
