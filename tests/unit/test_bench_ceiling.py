"""The benchmark's backing-store loops run end to end (their conditional writes would fail if they were wrong)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("calls", ["minimal", "postbox"])
def test_ceiling_loop_moves_every_message(calls: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench.ceiling", "25", "--calls", calls],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    figure = json.loads(out.stdout.strip().splitlines()[-1])
    assert figure["calls"] == calls
    assert figure["messages_per_s"] > 0
