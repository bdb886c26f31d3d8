"""Local mode's tokens over HTTP: the full token and the read-only one it creates and prints, with the `qstash` SDK."""

from __future__ import annotations

import pytest
import requests
from qstash import QStash
from qstash.errors import QStashError

from local_mode.__main__ import _banner
from local_mode.backend import DEFAULT_TOKEN


def test_local_mode_prints_both_tokens(local):
    banner = _banner(local)
    assert local.backend.token == DEFAULT_TOKEN  # the QStash dev server's: SDK setups keep working
    assert local.backend.read_only_token and local.backend.read_only_token != local.backend.token
    assert f"Token              {local.backend.token}" in banner
    assert f"Read-only token    {local.backend.read_only_token}" in banner


def test_the_sdk_reads_with_the_read_only_token_and_cannot_write(local):
    read_only = QStash(local.backend.read_only_token, base_url=local.url, retry=False)
    full = QStash(local.token, base_url=local.url, retry=False)
    full.queue.upsert("audit", parallelism=1)

    # Reads work
    assert [q.name for q in read_only.queue.list()] == ["audit"]
    assert read_only.schedule.list() == []
    assert read_only.dlq.list().messages == []

    # Writes, and the signing keys, are refused with 403, and change nothing
    for attempt in (
        lambda: read_only.message.publish(url="http://127.0.0.1:9/hook", body="x"),
        lambda: read_only.queue.delete("audit"),
        read_only.signing_key.get,
        read_only.signing_key.rotate,
    ):
        with pytest.raises(QStashError, match="403"):
            attempt()
    assert [q.name for q in full.queue.list()] == ["audit"]


def test_the_query_token_form_over_http(local):
    base = local.url
    read_only = local.backend.read_only_token
    assert requests.get(f"{base}/v2/queues?qstash_token={read_only}", timeout=5).status_code == 200
    # Local mode takes the query token on GET only (a web page can make a browser send a URL); deployed, it is taken
    # on every route (webhook senders that set no header), and a read-only one there is a 403 on a write
    refused = requests.post(f"{base}/v2/queues/audit/pause?qstash_token={local.token}", timeout=5)
    assert refused.status_code == 401 and "GET requests only" in refused.json()["error"]
    headers = {"Authorization": f"Bearer {read_only}"}
    refused = requests.post(f"{base}/v2/queues/audit/pause", headers=headers, timeout=5)
    assert refused.status_code == 403 and set(refused.json()) == {"error"}
    wrong = requests.get(f"{base}/v2/queues?qstash_token=not-{read_only}", timeout=5)
    assert wrong.status_code == 401 and set(wrong.json()) == {"error"}
    assert requests.get(f"{base}/v2/keys?qstash_token={local.token}", timeout=5).status_code == 200
