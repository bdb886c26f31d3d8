"""`make dev` / `postbox dev` on a machine whose ports are taken: one line naming the port and the flag that changes
it, never a hang or a traceback; and the ports it is given are the ports it serves."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120  # a busy machine may take long to import and provision; a hang would never end


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port of 127.0.0.1 another program is listening on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=START_TIMEOUT_S)


def _local(*args: str) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "local_mode", "dev", *args])


def _make_dev(*variables: str) -> list[str]:
    # -o: the install stamp counts as up to date, so no test installs anything (no network)
    return ["make", "-s", "--no-print-directory", "-o", ".venv/.installed-local", "dev", *variables]


def test_a_taken_api_port_is_one_line_naming_the_flag(taken_port: int) -> None:
    done = _local("--port", str(taken_port))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"postbox: port {taken_port} of 127.0.0.1 (the API) is in use: choose another with --port "
        "(make dev PORT=...), or 0 for any free port"
    ]
    assert "Traceback" not in done.stdout + done.stderr


def test_a_taken_moto_port_is_one_line_naming_the_flag(taken_port: int) -> None:
    done = _local("--port", "0", "--moto-port", str(taken_port))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"postbox: port {taken_port} of 127.0.0.1 (the moto backend) is in use: choose another with --moto-port "
        "(make dev MOTO_PORT=...), or 0 for any free port"
    ]


def test_make_dev_with_a_taken_port_says_so_in_one_line(taken_port: int) -> None:
    done = _run(_make_dev(f"PORT={taken_port}"))
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if not line.startswith("make")]  # make's own "Error 1"
    assert lines == [
        f"postbox: port {taken_port} of 127.0.0.1 (the API) is in use: choose another with --port "
        "(make dev PORT=...), or 0 for any free port"
    ]


def test_make_dev_serves_on_the_ports_it_is_given() -> None:
    port, moto_port = _free_port(), _free_port()
    server = subprocess.Popen(
        _make_dev(f"PORT={port}", f"MOTO_PORT={moto_port}"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # make and postbox in one process group, stopped together
    )
    try:
        banner = _read_until(server, "Ctrl-C stops it.")
        assert re.search(rf"Base URL\s+http://127\.0\.0\.1:{port}\n", banner), banner
        assert f"http://127.0.0.1:{moto_port}" in banner
        assert requests.get(f"http://127.0.0.1:{port}/v2/dlq", timeout=30).status_code == 401  # it answers
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=START_TIMEOUT_S)


def _read_until(process: subprocess.Popen[str], marker: str) -> str:
    assert process.stdout is not None
    seen: list[str] = []
    for line in process.stdout:  # ends (EOF) if the process exits first
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError("".join(seen))
