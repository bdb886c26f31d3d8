import base64

import pytest
from qstash import Receiver
from qstash.errors import SignatureError

from functions.core.lifecycle import MessageState
from functions.core.models import AttemptResult, DlqEntry, Message, MessageRequest, MessageStatus
from functions.delivery.signing import new_signing_key, sign
from functions.messages.views import dlq_message_view, message_view

CURRENT, NEXT = "sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r", "sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs"


def test_official_receiver_accepts_the_signature(monkeypatch):
    # Given a signature made with the current key
    token = sign(key=CURRENT, url="https://example.com/hook", body=b'{"a":1}', now_s=int(__import__("time").time()))
    # When the official SDK's receiver verifies it / Then it passes (and fails for another body or url)
    Receiver(current_signing_key=CURRENT, next_signing_key=NEXT).verify(
        signature=token, body='{"a":1}', url="https://example.com/hook"
    )
    with pytest.raises(SignatureError):
        Receiver(current_signing_key=CURRENT, next_signing_key=NEXT).verify(signature=token, body='{"a":2}')
    with pytest.raises(SignatureError):
        Receiver(current_signing_key=CURRENT, next_signing_key=NEXT).verify(
            signature=token, body='{"a":1}', url="https://evil.example.com/hook"
        )


def test_signature_with_unknown_key_is_rejected():
    token = sign(key=new_signing_key(), url="https://e.com", body=b"", now_s=int(__import__("time").time()))
    with pytest.raises(SignatureError):
        Receiver(current_signing_key=CURRENT, next_signing_key=NEXT).verify(signature=token, body="")


def test_new_signing_keys_look_like_qstash_keys():
    key = new_signing_key()
    assert key.startswith("sig_") and len(key) == 32 and key != new_signing_key()


def _request(body: bytes) -> MessageRequest:
    return MessageRequest(
        message_id="m1",
        url="https://e.com/x",
        header={"X-A": ["1"]},
        body=body,
        max_retries=2,
        not_before_ms=2,
        created_at_ms=1,
        caller_ip="9.9.9.9",
    )


def test_message_view_has_seed_fields_and_text_body():
    status = MessageStatus(state=MessageState.CREATED, next_delivery_at_ms=2, updated_at_ms=1)
    wire = message_view(Message(request=_request(b"hello"), status=status)).model_dump(exclude_none=True)
    assert wire == {
        "messageId": "m1",
        "url": "https://e.com/x",
        "method": "POST",
        "header": {"X-A": ["1"]},
        "body": "hello",
        "maxRetries": 2,
        "notBefore": 2,
        "createdAt": 1,
        "callerIP": "9.9.9.9",
    }


def test_binary_bodies_are_base64():
    entry = DlqEntry(
        dlq_id="d1",
        request=_request(b"\xff\x00"),
        response=AttemptResult(status=500, header={"X": ["y"]}, body=b"\xfe"),
        created_at_ms=3,
    )
    wire = dlq_message_view(entry).model_dump(exclude_none=True)
    assert wire["bodyBase64"] == base64.b64encode(b"\xff\x00").decode() and "body" not in wire
    assert wire["responseBodyBase64"] == "/g==" and "responseBody" not in wire
    assert wire["dlqId"] == "d1" and wire["responseStatus"] == 500 and wire["responseHeader"] == {"X": ["y"]}
