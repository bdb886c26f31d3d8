"""Local mode's injected AWS faults reach Postbox the way real ones would: through botocore and its retries."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from local_mode import moto_patches
from local_mode.faults import FaultInjector, parse


@pytest.fixture
def aws():
    moto_patches.install()  # local mode's backend, which leaves a faulted call alone
    try:
        with mock_aws():
            yield
    finally:
        moto_patches.uninstall()


def clients(injector: FaultInjector):
    injector.install()
    try:
        session = boto3.session.Session(region_name="us-east-1")
        no_retries = Config(retries={"total_max_attempts": 1, "mode": "standard"})
        return session.client("dynamodb", config=no_retries), session.client("sqs", config=no_retries)
    finally:
        injector.uninstall()


def test_every_call_fails_as_throttled_or_as_a_service_error(aws):
    injector = FaultInjector({"dynamodb": 0.999999, "sqs": 0.999999}, seed=1)
    dynamodb, sqs = clients(injector)
    with pytest.raises(ClientError) as throttled:
        dynamodb.list_tables()
    assert throttled.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    with pytest.raises(ClientError) as failed:
        sqs.list_queues()
    assert failed.value.response["Error"]["Code"] == "InternalError"
    assert injector.injected == {"dynamodb": 1, "sqs": 1}


def test_a_share_of_calls_fails_and_the_rest_reach_the_backend(aws):
    injector = FaultInjector({"sqs": 0.3}, seed=7)
    _, sqs = clients(injector)
    outcomes = []
    for n in range(200):
        try:
            sqs.create_queue(QueueName=f"q{n}")
            outcomes.append(True)
        except ClientError:
            outcomes.append(False)
    assert injector.calls["sqs"] == 200
    assert 40 <= outcomes.count(False) == injector.injected["sqs"] <= 80
    assert len(boto3.client("sqs", region_name="us-east-1").list_queues()["QueueUrls"]) == outcomes.count(True)


def test_clients_made_after_uninstall_see_no_faults(aws):
    injector = FaultInjector({"dynamodb": 0.999999}, seed=1)
    injector.install()
    injector.uninstall()
    assert boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"] == []


def test_the_spec():
    assert parse("dynamodb=0.05, sqs=0.02") == {"dynamodb": 0.05, "sqs": 0.02}
    with pytest.raises(ValueError, match="share"):
        parse("sqs=1.5")
    with pytest.raises(ValueError, match="no faults for s3"):
        FaultInjector(parse("s3=0.1"))
