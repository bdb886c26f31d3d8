"""Local mode's AWS backend (moto) is served only when asked for, and then to no web page: no CORS, no
browser-sent request, no Host but a loopback name. It holds the API token and the signing keys."""

from __future__ import annotations

import boto3
import pytest
import requests

from local_mode.runtime import LocalMode

# secretsmanager.GetSecretValue as a page's fetch() would send it (moto checks no signature)
GET_SECRET_HEADERS = {"X-Amz-Target": "secretsmanager.GetSecretValue", "Content-Type": "application/x-amz-json-1.1"}
GET_SECRET_DATA = '{"SecretId": "postbox-local/api-token"}'


def test_no_backend_server_unless_asked_for():
    local = LocalMode(port=0).start()
    try:
        assert local.backend is not None and local.backend.endpoint == "in-process"
        with pytest.raises(RuntimeError, match="moto_port"):
            local.process_env()
        assert requests.get(local.url + "/v2/queues", headers={"Authorization": f"Bearer {local.token}"}, timeout=5).ok
    finally:
        local.stop()


def test_the_backend_server_answers_no_web_page():
    local = LocalMode(port=0, moto_port=0, worker=False).start()
    try:
        endpoint = local.backend.endpoint if local.backend else ""
        port = endpoint.rsplit(":", 1)[1]
        # A page's cross-origin fetch, its preflight, and a DNS-rebound name are refused, with no CORS headers
        for method, headers in (
            ("POST", {"Origin": "https://evil.example"}),
            ("OPTIONS", {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}),
            ("POST", {"Sec-Fetch-Site": "cross-site"}),
            ("POST", {"Host": f"rebound.evil.example:{port}"}),
        ):
            answer = requests.request(
                method, endpoint, headers={**GET_SECRET_HEADERS, **headers}, data=GET_SECRET_DATA, timeout=5
            )
            assert answer.status_code == 403, (method, headers, answer.text[:200])
            assert "Access-Control-Allow-Origin" not in answer.headers
            assert local.token not in answer.text
        # And the AWS CLI / SDKs still reach it
        secrets = boto3.client(
            "secretsmanager",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        assert local.token in secrets.get_secret_value(SecretId="postbox-local/api-token")["SecretString"]
    finally:
        local.stop()
