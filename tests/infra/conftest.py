"""Synthesize PostboxStack once per session, from code staged by the real `stage_code` and a placeholder layer.

cdk-nag's AwsSolutions pack is applied to that same app, so its findings come out of the one synthesis (it only
reads the tree and adds annotations; the suppressions' metadata is in the template whether it runs or not).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

# Set before jsii starts its node process, which prints an end-of-life banner on Node 20 otherwise.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App, Aspects  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.build import stage_code  # noqa: E402
from infra.config import InfraConfig, cdk_json_context  # noqa: E402
from infra.stack import PostboxStack  # noqa: E402


@pytest.fixture(scope="session")
def asset_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("assets")
    code_dir, layer_dir = root / "lambda", root / "layer"
    stage_code(code_dir)
    (layer_dir / "python").mkdir(parents=True)
    (layer_dir / "python" / "PLACEHOLDER").write_text("the real layer is built by `make build`\n")
    return code_dir, layer_dir


@pytest.fixture(scope="session")
def infra_config(asset_dirs: tuple[Path, Path]) -> InfraConfig:
    code_dir, layer_dir = asset_dirs
    context = {**cdk_json_context(), "postbox:lambdaAssetDir": str(code_dir), "postbox:layerAssetDir": str(layer_dir)}
    return InfraConfig.from_mapping(context)


@pytest.fixture(scope="session")
def stack(infra_config: InfraConfig, tmp_path_factory: pytest.TempPathFactory) -> PostboxStack:
    """The stack, in an app checked by cdk-nag's AwsSolutions pack (verbose: findings say how to fix them)."""
    app = App(outdir=str(tmp_path_factory.mktemp("cdk.out")))
    built = PostboxStack(app, infra_config.stack_name, config=infra_config)
    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return built


@pytest.fixture(scope="session")
def template(stack: PostboxStack) -> Template:
    return Template.from_stack(stack)


@pytest.fixture(scope="session")
def resources(template: Template) -> dict[str, dict[str, Any]]:
    """The template's resources by logical ID."""
    found: dict[str, dict[str, Any]] = template.to_json()["Resources"]
    return found


@pytest.fixture(scope="session")
def function_ids(resources: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The logical IDs of the Lambda functions, by the feature package of their handler (`api`, `worker`)."""
    return {
        resource["Properties"]["Handler"].split(".")[1]: logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Lambda::Function"
    }
