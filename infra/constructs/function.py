"""ServiceFunction: the one place for the defaults every Postbox Lambda function shares."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import cast

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.config import InfraConfig

RUNTIME = lambda_.Runtime.PYTHON_3_12
# postbox:architecture -> the functions' and the layer's architecture (the layer's wheels are built for it:
# infra/build.py).
ARCHITECTURES = {"arm64": lambda_.Architecture.ARM_64, "x86_64": lambda_.Architecture.X86_64}
LAYER_ARCHITECTURE_FILE = ".architecture"  # infra/build.py writes it beside the layer
LAYER_ID = "DependenciesLayer"
TRACE_DISABLED_ENV = "POWERTOOLS_TRACE_DISABLED"
POWERTOOLS_ENVIRONMENT = {"POWERTOOLS_SERVICE_NAME": "postbox"}
LIVE_ALIAS = "live"  # with SnapStart, what everything invokes: the version published by the latest deploy


def metrics_namespace(stack_name: str) -> str:
    """The CloudWatch namespace of a stack's metrics: its own, so that two stacks in one account (staging and
    prod) never add up in one graph or one alarm."""
    return f"Postbox/{stack_name}"


class ServiceFunction(Construct):
    """A Python Lambda function running staged `functions/` code with the dependency layer, logging JSON.

    X-Ray tracing follows `config.tracing` (off by default): when on, the function is traced actively (CDK grants its
    role the X-Ray write actions); when off, it has no tracing config and POWERTOOLS_TRACE_DISABLED tells the code not
    to import the X-Ray SDK at all.

    With `config.snap_start`, each deploy that changes the function publishes a version (SnapStart snapshots it after
    its init) and moves the `live` alias to it: `target` is that alias, and what invokes the function must use it
    ($LATEST has no snapshot). Without, `target` is the function. The code is safe to snapshot: it opens no connection
    and draws no random value during init (clients are made on first use; ids come from os.urandom).

    Its role starts empty (not AWSLambdaBasicExecutionRole, which may create any log group and write to every one):
    it may write to its own log group only, and each construct grants the rest.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: InfraConfig,
        handler: str,
        description: str,
        environment: Mapping[str, str],
        memory_mb: int,
        timeout: Duration,
        reserved_concurrency: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # An explicit log group, so that retention is set without the LogRetention custom resource.
        log_group = logs.LogGroup(self, "Logs", removal_policy=RemovalPolicy.DESTROY)
        cast(logs.CfnLogGroup, log_group.node.default_child).retention_in_days = config.log_retention_days
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {description}"[:1000],
        )
        log_group.grant_write(self.role)  # logs:CreateLogStream and logs:PutLogEvents on this log group
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=ARCHITECTURES[config.architecture],
            code=lambda_.Code.from_asset(str(_asset_dir(config.lambda_asset_dir))),
            handler=handler,
            layers=[dependencies_layer(self, config)],
            description=description,
            environment={
                **POWERTOOLS_ENVIRONMENT,
                "POWERTOOLS_METRICS_NAMESPACE": metrics_namespace(Stack.of(self).stack_name),
                **environment,
                **tracing_environment(config),
            },
            memory_size=memory_mb,
            timeout=timeout,
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE if config.tracing else lambda_.Tracing.DISABLED,
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if config.snap_start else None,
            # A version the alias has left is deleted (with its cached snapshot, billed while it exists), not retained
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY),
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=log_group,
            role=self.role,
        )
        self.target: lambda_.IFunction = self.function
        if config.snap_start:
            self.target = lambda_.Alias(self, "LiveAlias", alias_name=LIVE_ALIAS, version=self.function.current_version)
        # CDK makes every function depend on its role explicitly, which its `Role: GetAtt` already does: cfn-lint
        # warns about the redundant DependsOn (W3005), here and nowhere else.
        cast(lambda_.CfnFunction, self.function.node.default_child).add_metadata(
            "cfn-lint", {"config": {"ignore_checks": ["W3005"]}}
        )
        NagSuppressions.add_resource_suppressions(
            self.function,
            [
                NagPackSuppression(
                    id="AwsSolutions-L1",
                    reason=(
                        "python3.12 is chosen, not the newest runtime: the dependency layer is built from CPython 3.12 "
                        "wheels and both assets are compiled to 3.12 bytecode (infra/build.py RUNTIME_VERSION), and "
                        "the cold starts in README were measured on it. Lambda supports 3.12 until CPython 3.12's end "
                        "of life; moving on is one change of RUNTIME, build.py and the layer together."
                    ),
                )
            ],
        )


def tracing_environment(config: InfraConfig) -> dict[str, str]:
    """The variable that switches Powertools' Tracer (and the X-Ray SDK import) on or off, as `config.tracing` says."""
    return {TRACE_DISABLED_ENV: "false" if config.tracing else "true"}


def dependencies_layer(scope: Construct, config: InfraConfig) -> lambda_.ILayerVersion:
    """The stack's one layer of third-party runtime dependencies, created on first use."""
    stack = Stack.of(scope)
    existing = stack.node.try_find_child(LAYER_ID)
    if existing is not None:
        return cast(lambda_.ILayerVersion, existing)
    built_for = config.layer_asset_dir / LAYER_ARCHITECTURE_FILE
    if built_for.is_file() and built_for.read_text().strip() != config.architecture:
        raise ValueError(
            f"the layer in {config.layer_asset_dir} is built for {built_for.read_text().strip()}, the functions run on "
            f"{config.architecture}: run `make build` with the same -c postbox:architecture"
        )
    return lambda_.LayerVersion(
        stack,
        LAYER_ID,
        code=lambda_.Code.from_asset(str(_asset_dir(config.layer_asset_dir))),
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[ARCHITECTURES[config.architecture]],
        description="Postbox runtime dependencies (aws-lambda-powertools[tracer], pydantic, requests, croniter)",
    )


def _asset_dir(path: Path) -> Path:
    if not path.is_dir():
        raise FileNotFoundError(f"asset folder {path} does not exist: run `make build` first")
    return path
