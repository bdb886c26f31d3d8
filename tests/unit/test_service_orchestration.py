"""What a route used to do itself, now one service call: enqueue, a batch publish, upserting a URL group's endpoints."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from functions.messages.publish import PublishLimits
from functions.messages.service import BatchItem, MessageService, PublishInput
from functions.shared.errors import BadRequestError, ServiceUnavailableError
from functions.shared.ssrf import AddressPolicy
from functions.topics.service import TopicService
from tests.fakes import Clock, FakeDispatcher, FakeDlq, FakeMessages, FakeQueue, FakeTopics

LIMITS = PublishLimits(default_retries=3, max_retries=10, max_body_bytes=1024, addresses=AddressPolicy())
URL = "https://example.com/hook"


class Queues:
    """The queue collaborator: records each queue it is asked to make sure of."""

    def __init__(self) -> None:
        self.ensured: list[str] = []

    def ensure(self, name: str) -> object:
        self.ensured.append(name)
        return SimpleNamespace(name=name)


@pytest.fixture
def world():
    dlq = FakeDlq()
    messages = FakeMessages(dlq=dlq)
    queues, dispatcher, queue = Queues(), FakeDispatcher(), FakeQueue()
    service = MessageService(
        messages, dlq, queue, LIMITS, retention_s=60, clock=Clock(), dispatcher=dispatcher, ensure_queue=queues.ensure
    )
    return SimpleNamespace(service=service, messages=messages, queues=queues, dispatcher=dispatcher, queue=queue)


def publish_input(tail: str = URL, **headers: str) -> PublishInput:
    return PublishInput(tail, "", {"content-type": "text/plain", **headers}, b"body", "1.2.3.4")


def test_enqueue_makes_sure_of_the_queue_and_stores_the_message_in_it(world):
    # When a message is enqueued into `orders`
    outcome = world.service.enqueue("orders", publish_input())

    # Then the queue is made sure of, the message waits in it for a slot (no delivery record yet), it is dispatched
    assert world.queues.ensured == ["orders"] and world.dispatcher.dispatched == ["orders"]
    (published,) = outcome.published
    assert not outcome.to_group and published.url == URL and not published.deduplicated
    assert world.messages.requests[published.message_id].queue_name == "orders"
    assert world.queue.sent == []


def test_enqueue_of_an_invalid_message_creates_no_queue(world):
    with pytest.raises(BadRequestError):
        world.service.enqueue("orders", publish_input("not-a-url"))
    assert world.queues.ensured == [] and world.messages.requests == {}


def test_enqueue_without_queues_configured_is_503():
    dlq = FakeDlq()
    service = MessageService(FakeMessages(dlq=dlq), dlq, FakeQueue(), LIMITS, retention_s=60, clock=Clock())
    with pytest.raises(ServiceUnavailableError):
        service.enqueue("orders", publish_input())


def test_a_batch_answers_each_entry_in_order_and_queues_the_queued_ones(world):
    # When a batch of a direct publish and a queued one is published
    items = [BatchItem(URL, {}, "a"), BatchItem(URL + "/q", {"upstash-delay": "10s"}, "b", queue="orders")]
    outcomes = world.service.publish_batch(items, "1.2.3.4")

    # Then each entry has its answer, in order; only the queued one's queue is made sure of
    assert [o.published[0].url for o in outcomes] == [URL, URL + "/q"]
    assert world.queues.ensured == ["orders"] and world.dispatcher.dispatched == ["orders"]
    first, second = (world.messages.requests[o.published[0].message_id] for o in outcomes)
    assert first.queue_name is None and second.queue_name == "orders"
    assert len(world.queue.sent) == 1  # the direct one's delivery record; the queued one waits for its slot


def test_a_batch_makes_sure_of_each_queue_once(world):
    # When a batch puts three messages into two queues
    items = [BatchItem(URL, {}, "a", queue="orders"), BatchItem(URL, {}, "b", queue="mail")]
    world.service.publish_batch([*items, BatchItem(URL, {}, "c", queue="orders")], "1.2.3.4")

    # Then each queue is made sure of once, in the batch's order, and all three messages wait in them
    assert world.queues.ensured == ["orders", "mail"]
    assert sorted(r.queue_name or "" for r in world.messages.requests.values()) == ["mail", "orders", "orders"]


@pytest.mark.parametrize(
    "bad",
    [
        BatchItem("not-a-url", {}, "x"),
        BatchItem(URL, {}, "x", queue="no spaces"),
        BatchItem(URL, {"upstash-retries": "x"}),
    ],
    ids=["destination", "queue name", "header"],
)
def test_one_invalid_entry_stores_nothing_and_creates_no_queue(world, bad):
    with pytest.raises(BadRequestError):
        world.service.publish_batch([BatchItem(URL, {}, "ok", queue="orders"), bad], None)
    assert world.messages.requests == {} and world.queues.ensured == [] and world.queue.sent == []


def test_upsert_endpoints_takes_the_requests_entries_and_validates_them():
    # Given a URL group service whose URL check refuses one host
    def validate_url(url: str) -> str:
        if "refused" in url:
            raise BadRequestError(f"invalid url {url}")
        return url

    topics = FakeTopics()
    service = TopicService(topics, validate_url, clock=Clock())
    entry = SimpleNamespace

    # When endpoints are upserted: one without a url, one refused, then good ones
    with pytest.raises(BadRequestError, match="every endpoint needs a url"):
        service.upsert_endpoints("bad name", [entry(url=URL, name=None), entry(url=None, name="x")])
    with pytest.raises(BadRequestError, match="invalid URL group name"):
        service.upsert_endpoints("bad name", [entry(url=URL, name=None)])
    with pytest.raises(BadRequestError, match="invalid url"):
        service.upsert_endpoints("group", [entry(url="https://refused.example", name=None)])
    topic = service.upsert_endpoints("group", [entry(url=URL, name="a"), entry(url=URL + "/2", name=None)])

    # Then only the good ones are stored, as the group's endpoints
    assert [(e.url, e.name) for e in topic.endpoints] == [(URL, "a"), (URL + "/2", None)]
    assert list(topics.topics) == ["group"]
