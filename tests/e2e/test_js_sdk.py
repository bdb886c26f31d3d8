"""The official JS SDK (`@upstash/qstash`, pinned in tests/e2e/js) against local mode."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

JS = Path(__file__).parent / "js"


@pytest.fixture(scope="module")
def js_sdk() -> Path:
    """Install the pinned SDK with npm into tests/e2e/js (from the lock file)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the JS SDK conformance suite")
    installed = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"],
        cwd=JS,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if installed.returncode != 0:
        pytest.skip(f"npm could not install @upstash/qstash: {installed.stderr[-500:]}")
    return JS


def test_the_js_sdk_methods(local, js_sdk: Path, threaded_httpserver: HTTPServer):
    threaded_httpserver.expect_request("/ok").respond_with_data("ok")
    threaded_httpserver.expect_request("/fail").respond_with_data("broken", status=500)
    run = subprocess.run(
        ["node", "conformance.mjs"],
        cwd=js_sdk,
        env={
            "PATH": os.environ["PATH"],
            "QSTASH_URL": local.url,
            "QSTASH_TOKEN": local.token,
            "RECEIVER": threaded_httpserver.url_for("").rstrip("/"),
        },
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith("[")]
    assert lines, f"no results from node: {run.stdout[-2000:]} {run.stderr[-2000:]}"
    results = json.loads(lines[-1])
    failed = [r for r in results if not r["ok"]]
    assert not failed, json.dumps(failed, indent=2)
    assert run.returncode == 0
    assert len(results) == 12
