"""At-least-once: a worker killed between the HTTP call and the state write loses nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from qstash import QStash
from werkzeug import Request, Response

from local_mode.runtime import LocalMode
from tests.e2e.conftest import message_status, one_url, wait_until


@pytest.fixture(scope="module")
def local_without_worker() -> Iterator[LocalMode]:
    mode = LocalMode(port=0, moto_port=0, worker=False).start()
    try:
        yield mode
    finally:
        mode.stop()


def start_worker(local: LocalMode, log: Path) -> subprocess.Popen[bytes]:
    """A worker in its own process, as a Lambda execution environment is (the environment names the backend)."""
    local_env = local.process_env()
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "local_mode", "worker"], env=local_env, stdout=out, stderr=out)


def test_worker_killed_mid_delivery_is_recovered(local_without_worker, httpserver: HTTPServer, tmp_path):
    # Given a worker process and a receiver that kills it while the first delivery is in flight
    log = tmp_path / "worker.log"
    workers = [start_worker(local_without_worker, log)]
    seen: list[Request] = []

    def receiver(request: Request) -> Response:
        seen.append(request)
        if len(seen) == 1:
            workers[0].send_signal(signal.SIGKILL)  # the HTTP call happened; the state write never will
            workers[0].wait(timeout=10)
        return Response("ok", status=200)

    httpserver.expect_request("/crash").respond_with_handler(receiver)
    client = QStash(local_without_worker.token, base_url=local_without_worker.url, retry=False)
    try:
        # When a message is published and the worker dies during its delivery
        published = one_url(client.message.publish(url=httpserver.url_for("/crash"), body="survive"))
        wait_until(lambda: workers[0].poll() is not None, timeout=30, what="the worker to be killed")
        assert message_status(published.message_id).state == "ACTIVE"  # claimed, outcome never recorded

        # And a new worker starts (a new Lambda environment)
        workers.append(start_worker(local_without_worker, log))

        # Then the record comes back after its visibility timeout, the lost attempt counts as failed, its retry
        # delivers it, and the message ends DELIVERED: a duplicate delivery, never a lost one
        wait_until(
            lambda: message_status(published.message_id).state == "DELIVERED",
            timeout=60,
            interval=0.5,
            what=f"DELIVERED (worker log: {log})",
        )
        assert len(seen) == 2
        assert {r.headers["Upstash-Message-Id"] for r in seen} == {published.message_id}
        assert [r.get_data() for r in seen] == [b"survive", b"survive"]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=10)
