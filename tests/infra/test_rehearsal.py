"""The deploy rehearsal: the deployed shape run without AWS.

From the synthesized template: every table, queue, bucket, secret and schedule group is created in a moto server on
127.0.0.1; each function's environment is the template's `Environment`, its references resolved to those resources,
plus only what the Lambda runtime itself sets (region, credentials, function name) and two settings of this
machine: `AWS_ENDPOINT_URL` (moto) and `ALLOW_LOOPBACK_DESTINATIONS` (the receiver is on 127.0.0.1). Each function
runs in a clean interpreter (rehearsal_runtime.py) whose `sys.path` holds only the staged code, the built layer
and the runtime's boto3 (`make rehearsal` builds them: `.build/rehearsal/`), and is invoked by its template
`Handler` string with the events its triggers send: HTTP requests from the front door (an HTTP API's payload 2.0
event or a function URL's), SQS batches from the event source, a cron schedule's and the sweep's firings.

It fails if the layer lacks a module the code imports, if the code needs a variable the template does not set, or
if a handler string does not resolve (the last test shows each).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_cdk import App
from aws_cdk.assertions import Template
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from infra import build
from infra.config import InfraConfig, cdk_json_context
from infra.stack import PostboxStack
from local_mode.backend import start_moto
from local_mode.worker_loop import sqs_event

ACCOUNT, REGION, STACK = "123456789012", "us-east-1", "Rehearsal"
RUNTIME_SCRIPT = Path(__file__).with_name("rehearsal_runtime.py")
PUBLISH_EVENT = Path(__file__).parents[1] / "events" / "http_api_publish.json"
Resources = dict[str, dict[str, Any]]


# --- the build and the template ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rehearsal_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What `make rehearsal` built (the interpreter, the layer, the runtime's SDK), and the code staged now: the
    working tree's, as `make build` stages it."""
    record = build.REHEARSAL_DIR / build.REHEARSAL_INTERPRETER_FILE
    if not record.is_file():
        pytest.fail("the deploy rehearsal is not built: run `make rehearsal` (make test does)")
    found: dict[str, Any] = json.loads(record.read_text())
    code = tmp_path_factory.mktemp("lambda")
    build.stage_code(code)
    return {**found, "code": str(code)}


def synthesize(rehearsal_build: dict[str, Any], outdir: Path, **settings: str) -> Resources:
    """The stack's resources, synthesized from the rehearsal's code and layer (cdk.json's settings, and `settings`)."""
    context = {
        **cdk_json_context(),
        "postbox:lambdaAssetDir": rehearsal_build["code"],
        "postbox:layerAssetDir": str(build.REHEARSAL_DIR / "layer"),
        "postbox:architecture": rehearsal_build["architecture"],
        **{f"postbox:{key}": value for key, value in settings.items()},
    }
    stack = PostboxStack(App(outdir=str(outdir)), STACK, config=InfraConfig.from_mapping(context))
    resources: Resources = Template.from_stack(stack).to_json()["Resources"]
    return resources


# --- the account: the template's resources in moto ---------------------------------------------------------


class Account:
    """The template's stateful resources created in moto, and the values CloudFormation's references resolve to."""

    def __init__(self, endpoint: str, resources: Resources) -> None:
        self.endpoint, self.resources = endpoint, resources
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        self._session = session
        self.refs: dict[str, str] = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": STACK,
        }
        self.attributes: dict[tuple[str, str], str] = {}
        run = uuid.uuid4().hex[:8]  # moto's state is per process: names of this run only
        for logical_id, resource in sorted(resources.items(), key=lambda item: "RedrivePolicy" in str(item[1])):
            self._create(logical_id, resource["Type"], resource.get("Properties", {}), f"{STACK.lower()}-{run}")

    def client(self, service: str) -> Any:
        # (boto3's stubs type `client` per literal service name)
        return self._session.client(service, endpoint_url=self.endpoint)  # type: ignore[call-overload]

    def _create(self, logical_id: str, kind: str, properties: dict[str, Any], prefix: str) -> None:
        name = f"{prefix}-{logical_id.lower()}"[:63]
        arn = f"arn:aws:{{}}:{REGION}:{ACCOUNT}:{{}}"
        if kind == "AWS::DynamoDB::Table":
            wanted = ("KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes", "LocalSecondaryIndexes")
            self.client("dynamodb").create_table(
                TableName=name, BillingMode="PAY_PER_REQUEST", **{k: properties[k] for k in wanted if k in properties}
            )
            if ttl := properties.get("TimeToLiveSpecification"):
                self.client("dynamodb").update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
            self.refs[logical_id] = name
            self.attributes[logical_id, "Arn"] = arn.format("dynamodb", f"table/{name}")
        elif kind == "AWS::SQS::Queue":
            attributes = {
                key: json.dumps(self.resolve(value)) if key == "RedrivePolicy" else str(value)
                for key, value in properties.items()
                if key in ("VisibilityTimeout", "MessageRetentionPeriod", "RedrivePolicy", "DelaySeconds")
            }
            url = self.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            self.refs[logical_id] = url
            self.attributes[logical_id, "Arn"] = arn.format("sqs", name)
            self.attributes[logical_id, "QueueName"] = name
        elif kind == "AWS::S3::Bucket":
            self.client("s3").create_bucket(Bucket=name)
            self.refs[logical_id] = name
            self.attributes[logical_id, "Arn"] = f"arn:aws:s3:::{name}"
        elif kind == "AWS::SecretsManager::Secret":
            generator = properties["GenerateSecretString"]  # Secrets Manager's generation, as the template asks
            value = json.loads(generator["SecretStringTemplate"])
            value[generator["GenerateStringKey"]] = secrets.token_hex(generator["PasswordLength"] // 2)
            created = self.client("secretsmanager").create_secret(Name=name, SecretString=json.dumps(value))
            self.refs[logical_id] = created["ARN"]
        elif kind == "AWS::Scheduler::ScheduleGroup":
            self.client("scheduler").create_schedule_group(Name=name)
            self.refs[logical_id] = name
            self.attributes[logical_id, "Arn"] = arn.format("scheduler", f"schedule-group/{name}")
        elif kind == "AWS::IAM::Role":
            self.attributes[logical_id, "Arn"] = f"arn:aws:iam::{ACCOUNT}:role/{name}"
        elif kind == "AWS::Lambda::Function":
            self.refs[logical_id] = name
            self.attributes[logical_id, "Arn"] = arn.format("lambda", f"function:{name}")
        elif kind == "AWS::Lambda::Alias":
            function = self.resolve(properties["FunctionName"])
            self.refs[logical_id] = arn.format("lambda", f"function:{function}:{properties['Name']}")

    def resolve(self, value: Any) -> Any:
        """A template value with its references (Ref, Fn::GetAtt, Fn::Join) replaced by what they name here. A
        reference to anything the rehearsal did not create fails, naming it."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            assert value["Ref"] in self.refs, f"the rehearsal does not create {value['Ref']}, which is referenced"
            return self.refs[value["Ref"]]
        if "Fn::GetAtt" in value:
            key = (value["Fn::GetAtt"][0], value["Fn::GetAtt"][1])
            assert key in self.attributes, f"the rehearsal does not create {key}, which is referenced"
            return self.attributes[key]
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(str(self.resolve(part)) for part in parts)
        return {key: self.resolve(item) for key, item in value.items()}

    def function(self, feature: str) -> tuple[str, dict[str, Any]]:
        """The logical ID and properties of the function whose handler is in `functions.<feature>`."""
        return next(
            (logical_id, r["Properties"])
            for logical_id, r in self.resources.items()
            if r["Type"] == "AWS::Lambda::Function" and r["Properties"]["Handler"].startswith(f"functions.{feature}.")
        )


class Function:
    """One function's execution environment: the clean interpreter, initialized once, invoked event by event."""

    def __init__(self, rehearsal_build: dict[str, Any], account: Account, feature: str, log: Path) -> None:
        logical_id, properties = account.function(feature)
        self.name, self.arn = account.refs[logical_id], account.attributes[logical_id, "Arn"]
        self.environment = {
            key: str(value) for key, value in account.resolve(properties["Environment"]["Variables"]).items()
        }
        lambda_sets = {  # what the Lambda runtime sets in every function's environment
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(properties["MemorySize"]),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            "LAMBDA_TASK_ROOT": rehearsal_build["code"],
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PATH": os.environ["PATH"],
        }
        this_machine = {
            "AWS_ENDPOINT_URL": account.endpoint,
            "ALLOW_LOOPBACK_DESTINATIONS": "true",
            "REHEARSAL_FUNCTION_ARN": self.arn,
            "REHEARSAL_TIMEOUT_SECONDS": str(properties["Timeout"]),
        }
        self.handler = properties["Handler"]
        self.command = [
            rehearsal_build["path"],
            "-I",
            "-S",
            str(RUNTIME_SCRIPT),
            self.handler,
            rehearsal_build["code"],
            str(build.REHEARSAL_DIR / "layer" / "python"),
            str(build.REHEARSAL_DIR / "runtime" / "python"),
        ]
        self.full_environment = {**self.environment, **lambda_sets, **this_machine}
        self.log = log
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> dict[str, Any]:
        """Start the environment (Lambda's init); its first answer: `ready`, or the init error."""
        self._process = subprocess.Popen(
            self.command,
            env=self.full_environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log.open("a"),
            text=True,
            cwd=self.command[5],
        )
        return self._read()

    def invoke(self, event: dict[str, Any]) -> Any:
        """The handler's result for `event`; an exception in the handler fails the test, with its traceback."""
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(json.dumps(event) + "\n")
        self._process.stdin.flush()
        answer = self._read()
        assert "result" in answer, f"{self.handler} failed:\n{answer.get('error')}\nlog: {self.log}"
        return answer["result"]

    def _read(self) -> dict[str, Any]:
        assert self._process is not None and self._process.stdout is not None
        line = self._process.stdout.readline()
        assert line, f"{self.handler} exited ({self._process.poll()}); its log:\n{self.log.read_text()[-3000:]}"
        answer: dict[str, Any] = json.loads(line)
        return answer

    def stop(self) -> None:
        if self._process is not None:
            self._process.stdin.close()  # type: ignore[union-attr]
            self._process.wait(timeout=30)


@contextmanager
def running(function: Function) -> Iterator[Function]:
    started = function.start()
    assert started == {"ready": True}, started.get("init_error")
    try:
        yield function
    finally:
        function.stop()


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server, endpoint = start_moto(0)
    try:
        yield endpoint
    finally:
        server.stop()


# --- the events each trigger sends -------------------------------------------------------------------------


def front_door_event(
    front_door: str,
    method: str,
    route: str,
    path: str,
    token: str,
    *,
    body: str = "",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An HTTP request as the front door hands it to the API function (payload format 2.0): the HTTP API's event
    (its route key and path parameters; it merges the `//` of a URL in the path) or the function URL's."""
    event: dict[str, Any] = json.loads(PUBLISH_EVENT.read_text())
    raw_path, _, query = path.partition("?")
    now = datetime.now(UTC)
    host = (
        "abc123.execute-api.us-east-1.amazonaws.com"
        if front_door == "httpApi"
        else "abc123.lambda-url.us-east-1.on.aws"
    )
    event.update(
        rawPath=raw_path,
        rawQueryString=query,
        headers={
            "host": host,
            "authorization": f"Bearer {token}",
            "user-agent": "rehearsal",
            "x-forwarded-for": "198.51.100.20",
            "x-forwarded-proto": "https",
            "content-length": str(len(body)),
            **{k.lower(): v for k, v in (headers or {}).items()},
        },
        body=body,
        isBase64Encoded=False,
    )
    event.pop("queryStringParameters", None)
    if query:
        event["queryStringParameters"] = dict(pair.split("=", 1) for pair in query.split("&"))
    context = event["requestContext"]
    context.update(requestId=uuid.uuid4().hex, domainName=host, time=now.strftime("%d/%b/%Y:%H:%M:%S +0000"))
    context.update(timeEpoch=int(now.timestamp() * 1000))
    context["http"].update(method=method, path=raw_path)
    if front_door == "httpApi":
        event["routeKey"] = context["routeKey"] = f"{method} {route}"
        event["rawPath"] = context["http"]["path"] = re.sub(r"/{2,}", "/", raw_path)
        names = re.findall(r"{(\w+)\+?}", route)
        pattern = "^" + re.sub(r"{(\w+)(\+?)}", lambda m: "(.+)" if m[2] else "([^/]+)", route) + "$"
        values = re.match(pattern, event["rawPath"])
        assert values is not None, (route, event["rawPath"])
        event["pathParameters"] = dict(zip(names, values.groups(), strict=True))
    else:  # a function URL: one route, no path parameters, the path as sent
        event["routeKey"] = context["routeKey"] = "$default"
        event.pop("pathParameters", None)
        context["accountId"] = "anonymous"
    return event


def scheduler_input(target: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The event EventBridge Scheduler invokes a Lambda target with at `at`: its `Input`, context attributes filled
    in."""
    fired = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    event: dict[str, Any] = json.loads(target["Input"].replace("<aws.scheduler.scheduled-time>", fired))
    return event


def run_event_source(account: Account, worker: Function, queue_id: str) -> int:
    """What the SQS event source does until the queue has nothing visible: receive a batch, invoke the worker,
    delete the records it did not report as failures. Returns the records handed over."""
    sqs, url, arn = account.client("sqs"), account.refs[queue_id], account.attributes[queue_id, "Arn"]
    handed = 0
    for _ in range(20):
        received = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not received:
            return handed
        handed += len(received)
        answer = worker.invoke(sqs_event(received, arn, REGION))  # (local mode's event source builds it alike)
        failed = {item["itemIdentifier"] for item in answer["batchItemFailures"]}
        assert not failed, answer
        for message in received:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    raise AssertionError("the delivery queue did not drain")


# --- the rehearsal -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("front_door", ["httpApi", "functionUrl"])
def test_the_deployed_shape_publishes_delivers_fires_and_answers(
    front_door: str, rehearsal_build: dict[str, Any], moto_endpoint: str, tmp_path: Path
) -> None:
    # Given the template's resources in moto, and a receiver on 127.0.0.1 (200 on /ok, 500 on /fail)
    resources = synthesize(rehearsal_build, tmp_path / "cdk.out", frontDoor=front_door)
    account = Account(moto_endpoint, resources)
    receiver = HTTPServer(host="127.0.0.1", port=0)
    received: list[Request] = []

    def answer(request: Request) -> Response:
        received.append(request)
        return Response("no" if request.path == "/fail" else "ok", status=500 if request.path == "/fail" else 200)

    receiver.expect_request(re.compile("/.*")).respond_with_handler(answer)
    receiver.start()
    queue_id = next(
        i for i, r in resources.items() if r["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in r["Properties"]
    )
    api = Function(rehearsal_build, account, "api", tmp_path / "api.log")
    worker = Function(rehearsal_build, account, "worker", tmp_path / "worker.log")
    # The API token, as an operator reads it from the ApiTokenSecretArn output's secret
    secret_id = api.environment["AUTH_SECRET_ID"]
    token = json.loads(account.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])["token"]
    ok, fail = f"http://127.0.0.1:{receiver.port}/ok", f"http://127.0.0.1:{receiver.port}/fail"

    def call(method: str, route: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        response = api.invoke(front_door_event(front_door, method, route, path, token, **kwargs))
        return response["statusCode"], json.loads(response["body"] or "null")

    try:
        with running(api), running(worker):
            # When a client publishes two messages, one to a destination that fails (no retries), and creates a cron
            # schedule
            status, published = call(
                "POST",
                "/v2/publish/{destination+}",
                f"/v2/publish/{ok}",
                body="hello",
                headers={"content-type": "text/plain"},
            )
            assert status == 200, published
            status, doomed = call(
                "POST", "/v2/publish/{destination+}", f"/v2/publish/{fail}", body="x", headers={"upstash-retries": "0"}
            )
            assert status == 200, doomed
            status, schedule = call(
                "POST",
                "/v2/schedules/{destination+}",
                f"/v2/schedules/{ok}",
                body="tick",
                headers={"upstash-cron": "* * * * *"},
            )
            assert status == 200, schedule
            # And the event source hands the queue's records to the worker
            assert run_event_source(account, worker, queue_id) == 2
            # And the cron schedule fires (as EventBridge Scheduler invokes its target: the worker, with its input)
            scheduler = account.client("scheduler")
            group = api.environment["SCHEDULE_GROUP"]
            (listed,) = scheduler.list_schedules(GroupName=group)["Schedules"]
            target = scheduler.get_schedule(GroupName=group, Name=listed["Name"])["Target"]
            assert target["Arn"] == api.environment["WORKER_FUNCTION_ARN"] == worker.arn
            assert target["RoleArn"] == api.environment["SCHEDULER_ROLE_ARN"]
            next_minute = datetime.fromtimestamp((time.time() // 60 + 1) * 60, UTC)  # the cron's next tick
            assert worker.invoke(scheduler_input(target, next_minute)) == {"published": 1}
            assert run_event_source(account, worker, queue_id) == 1
            # And the recurring sweep fires, with the input the template gives it
            (sweep,) = [r for r in resources.values() if r["Type"] == "AWS::Scheduler::Schedule"]
            assert worker.invoke(scheduler_input(sweep["Properties"]["Target"], datetime.now(UTC))) == {"requeued": 0}

            # Then the destinations got the message and the schedule's, signed, and the failing one its attempt
            assert sorted((r.path, r.get_data(as_text=True)) for r in received) == [
                ("/fail", "x"),
                ("/ok", "hello"),
                ("/ok", "tick"),
            ]
            assert all(r.headers.get("Upstash-Signature") for r in received)
            # And the API answers the message, delivered, and the DLQ entry of the failed one
            status, message = call("GET", "/v2/messages/{messageId}", f"/v2/messages/{published['messageId']}")
            assert status == 200 and message["messageId"] == published["messageId"], message
            assert message["body"] == "hello" and message["url"] == ok
            status, dlq = call("GET", "/v2/dlq", "/v2/dlq")
            assert status == 200 and [m["messageId"] for m in dlq["messages"]] == [doomed["messageId"]], dlq
            dlq_id = dlq["messages"][0]["dlqId"]
            status, entry = call("GET", "/v2/dlq/{dlqId}", f"/v2/dlq/{dlq_id}")
            assert status == 200 and entry["messageId"] == doomed["messageId"] and entry["responseStatus"] == 500, entry
    finally:
        receiver.clear()
        receiver.stop()


def test_the_rehearsal_fails_on_a_missing_module_variable_or_handler(
    rehearsal_build: dict[str, Any], moto_endpoint: str, tmp_path: Path
) -> None:
    account = Account(moto_endpoint, synthesize(rehearsal_build, tmp_path / "cdk.out"))
    # A layer without pydantic: the init fails, naming the module
    layer = tmp_path / "layer"
    shutil.copytree(build.REHEARSAL_DIR / "layer" / "python", layer, ignore=shutil.ignore_patterns("pydantic"))
    api = Function(rehearsal_build, account, "api", tmp_path / "layer.log")
    api.command[api.command.index(str(build.REHEARSAL_DIR / "layer" / "python"))] = str(layer)
    assert "No module named 'pydantic'" in api.start()["init_error"]
    # A handler string that does not resolve
    api = Function(rehearsal_build, account, "api", tmp_path / "handler.log")
    api.command[api.command.index(api.handler)] = "functions.api.handler.handle"
    assert "has no attribute 'handle'" in api.start()["init_error"]
    # A variable the code reads that the template would not set: every request fails, and the log says which
    api = Function(rehearsal_build, account, "api", tmp_path / "variable.log")
    del api.full_environment["MESSAGES_TABLE"]
    with running(api):
        response = api.invoke(front_door_event("httpApi", "GET", "/v2/messages/{messageId}", "/v2/messages/m1", "x"))
    assert response["statusCode"] == 503
    assert "MESSAGES_TABLE" in (tmp_path / "variable.log").read_text()
