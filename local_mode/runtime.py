"""Local mode as a library: start the embedded backend, the front door and the worker loop; stop them.

The handlers of this process reach moto in-process; `process_env()` is the environment under which another
process (a worker in its own process, a script) reaches the same state through the moto server.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Any

from local_mode.backend import (
    DEFAULT_SIGNING_KEYS,
    DEFAULT_TOKEN,
    REGION,
    LocalBackend,
    new_read_only_token,
    provision,
    start_moto,
)
from local_mode.frontdoor import FrontDoor
from local_mode.lambda_context import LocalLambdaContext
from local_mode.scheduler_loop import SchedulerLoop
from local_mode.worker_loop import DEFAULT_CONCURRENCY, WorkerLoop

LOCAL_SWITCH_INTERVAL_S = 0.001


def reset_process_caches() -> None:
    """Forget settings, clients, secrets and the functions' composition roots built so far: the environment just
    changed."""
    from functions.api.root import api_root
    from functions.shared import aws
    from functions.shared.config import get_settings
    from functions.shared.secrets import reset_secrets
    from functions.worker.root import worker_root

    get_settings.cache_clear()
    aws.reset_clients()
    reset_secrets()
    api_root.cache_clear()
    worker_root.cache_clear()


def receive_visibility_timeout() -> int:
    """Visibility timeout of the local worker's receives: just over the claim lease, so a record whose worker died
    comes back as soon as its lease has run out (the deployed queue uses the longer Lambda-sized one)."""
    from functions.shared.config import get_settings

    return math.ceil(get_settings().claim_lease_seconds) + 3


def make_worker_loop(concurrency: int = DEFAULT_CONCURRENCY) -> WorkerLoop:
    """A worker loop for this process's environment (used by local mode and by `postbox-local worker`), running
    up to `concurrency` batches at once."""
    from functions.shared import aws
    from functions.shared.config import get_settings
    from functions.worker.handler import lambda_handler

    return WorkerLoop(
        handler=lambda_handler,
        sqs=aws.sqs(),
        queue_url=get_settings().delivery_queue_url,
        visibility_timeout_s=receive_visibility_timeout(),
        region=REGION,
        concurrency=concurrency,
    )


def make_scheduler_loop(sweep: bool = True) -> SchedulerLoop:
    """The loop that fires due one-time schedules (moto stores them but does not fire them) and, like the stack's
    recurring schedule, invokes the worker's sweep of overdue messages."""
    from functions.shared import aws
    from functions.shared.config import get_settings
    from functions.worker.handler import lambda_handler

    def invoke_sweep() -> object:
        return lambda_handler({"sweep": True}, LocalLambdaContext("postbox-worker"))

    def invoke_worker(event: dict[str, Any]) -> object:
        return lambda_handler(event, LocalLambdaContext("postbox-worker"))

    return SchedulerLoop(
        aws.scheduler(),
        aws.sqs(),
        get_settings().schedule_group,
        sweep=invoke_sweep if sweep else None,
        invoke_function=invoke_worker if sweep else None,
    )


class LocalMode:
    def __init__(
        self,
        port: int = 8080,
        moto_port: int | None = None,
        worker: bool = True,
        token: str | None = None,
        signing_keys: dict[str, str] | None = None,
        read_only_token: str | None = None,
        worker_concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.port = port
        self.worker_concurrency = worker_concurrency
        self.moto_port = moto_port  # None: no moto server, the backend lives in this process only
        self.allowed_origins = [o for o in os.environ.get("POSTBOX_ALLOWED_ORIGINS", "").split(",") if o.strip()]
        self.with_worker = worker
        self.token = token or os.environ.get("POSTBOX_TOKEN") or DEFAULT_TOKEN
        self.read_only_token = read_only_token or os.environ.get("POSTBOX_READ_ONLY_TOKEN") or new_read_only_token()
        self.signing_keys = signing_keys or DEFAULT_SIGNING_KEYS
        self.backend: LocalBackend | None = None
        self.front_door: FrontDoor | None = None
        self.worker: WorkerLoop | None = None
        self.scheduler: SchedulerLoop | None = None
        self._moto: Any = None
        self._mock: Any = None
        self._switch_interval = sys.getswitchinterval()
        self._saved_env: dict[str, str | None] = {}

    @property
    def url(self) -> str:
        assert self.front_door is not None, "local mode is not started"
        return self.front_door.url

    def process_env(self) -> dict[str, str]:
        """The environment of another process working on this local mode's state (through the moto server)."""
        assert self.backend is not None, "local mode is not started"
        if self._moto is None:
            raise RuntimeError("another process reaches local mode's state through its moto server: give a moto_port")
        return {**os.environ, **self.backend.env}

    def start(self) -> LocalMode:
        """Start everything, or nothing: what had started is stopped again if a part fails (a busy port raises
        `PortBusyError`)."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> LocalMode:
        from moto import mock_aws

        from local_mode import moto_patches

        moto_patches.install()
        # The front door, the worker and the scheduler are threads of this one process: a 1 ms GIL slice (instead
        # of 5) keeps an API call from waiting behind a worker thread (publish p99 ~28 -> ~20 ms in `make bench`).
        sys.setswitchinterval(LOCAL_SWITCH_INTERVAL_S)
        mock = mock_aws()
        if self.moto_port is None:
            mock.start()  # a fresh, in-process backend
            self._mock = mock
            self.backend = provision(None, self.token, self.signing_keys, self.read_only_token)
        else:
            self._moto, endpoint = start_moto(self.moto_port)
            self.backend = provision(endpoint, self.token, self.signing_keys, self.read_only_token)
            mock.start(reset=False)  # the state just provisioned through the server is the in-process state
            self._mock = mock
        self._saved_env = {name: os.environ.get(name) for name in self.backend.env}
        in_process = {k: v for k, v in self.backend.env.items() if k != "AWS_ENDPOINT_URL"}
        os.environ.update(in_process)
        os.environ.pop("AWS_ENDPOINT_URL", None)
        reset_process_caches()

        from functions.api.handler import lambda_handler as api_handler

        if self.with_worker:
            self.worker = make_worker_loop(self.worker_concurrency)
            self.worker.start()
        self.front_door = FrontDoor(
            api_handler,
            self.port,
            after_invoke=self.worker.wake if self.worker else None,
            allowed_origins=self.allowed_origins,
        )
        self.front_door.start()
        self.scheduler = make_scheduler_loop(sweep=self.with_worker)
        self.scheduler.start()
        return self

    def stop(self) -> None:
        if self.scheduler:
            self.scheduler.stop()
        if self.worker:
            self.worker.stop()
        if self.front_door:
            self.front_door.stop()
        if self._mock:
            self._mock.stop(remove_data=False)  # the moto server may still be read by whoever started us
        if self._moto:
            self._moto.stop()
        self.scheduler, self.worker, self.front_door, self._mock, self._moto = None, None, None, None, None
        from local_mode import moto_patches

        moto_patches.uninstall()
        sys.setswitchinterval(self._switch_interval)
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_process_caches()

    def __enter__(self) -> LocalMode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
