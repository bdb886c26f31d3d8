"""The deploy path from a fresh clone: `make bootstrap` and `make deploy` run the pinned CDK CLI on the app with the
project's Python, pass `-c postbox:...` overrides through, can deploy without a terminal, and install only what
deploying needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from infra.config import PROJECT_ROOT, InfraConfig


def dry_run(*args: str) -> str:
    """What `make` would run (`make -n`), without running it."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}  # under `make test`
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_make_deploy_passes_overrides_and_can_skip_the_approval_prompt():
    commands = dry_run("deploy", "ARGS=-c postbox:workerMemoryMb=1024", "REQUIRE_APPROVAL=never")
    (deploy,) = [line for line in commands.splitlines() if " cdk deploy " in line]
    # The CLI synthesizes the app itself, with the project's Python: the override reaches it
    assert '--app ".venv/bin/python app.py"' in deploy and "--app cdk.out" not in deploy
    assert deploy.endswith("--require-approval never -c postbox:workerMemoryMb=1024")
    # And deploying installs the CDK's packages, not the test and lint tools
    assert '".[dev]"' not in commands


def test_make_bootstrap_runs_the_pinned_cli():
    commands = dry_run("bootstrap", "ARGS=aws://123456789012/eu-west-1")
    assert 'npx --no-install cdk bootstrap --app ".venv/bin/python app.py"' in commands
    assert commands.rstrip().endswith("aws://123456789012/eu-west-1")


def test_a_context_override_from_the_cli_reaches_the_app(tmp_path: Path, infra_config: InfraConfig):
    # The CLI hands `-c` values to the app in CDK_CONTEXT_JSON; they win over cdk.json's
    overrides = {
        "postbox:workerMemoryMb": 1024,
        "postbox:lambdaAssetDir": str(infra_config.lambda_asset_dir),
        "postbox:layerAssetDir": str(infra_config.layer_asset_dir),
    }
    env = {**os.environ, "CDK_OUTDIR": str(tmp_path), "CDK_CONTEXT_JSON": json.dumps(overrides)}
    subprocess.run([sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, check=True, capture_output=True, timeout=300)
    (template_file,) = tmp_path.glob("*.template.json")
    resources = json.loads(template_file.read_text())["Resources"]
    memory = {
        r["Properties"]["Handler"].split(".")[1]: r["Properties"]["MemorySize"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function" and "Handler" in r["Properties"]
    }
    assert memory["worker"] == 1024 and memory["api"] != 1024


def test_cdk_json_runs_the_app_with_the_projects_python():
    app = json.loads((PROJECT_ROOT / "cdk.json").read_text())["app"]
    assert ".venv/bin/python app.py" in app and "python3 app.py" in app
