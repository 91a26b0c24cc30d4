"""`agentkit serve` in process: the AgentCore Runtime contract through Starlette's TestClient,
against the local emulator (or agentkit's deterministic engine when no model tier is configured)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from starlette.testclient import TestClient

from agentkit.bedrock.types import ModelRequest
from agentkit.emulator import Emulator
from agentkit.emulator.responder import Responder, Script
from agentkit.serve.http import create_app
from agentkit.serve.http_service import SESSION_HEADER, Advisor, ServeSettings
from agentkit.telemetry.setup import Telemetry
from agentkit.testing import FunctionModel
from tests.guardrails.fake_secrets import AWS_ACCESS_KEY, AWS_SECRET_KEY

SAFE = "orders-api on DynamoDB in us-east-1, RTO 15 min, RPO 1 min"
LOSSY = "ledger-api on Aurora in us-east-1, RTO 60 min, RPO 0"  # waits for an approval
PRIMARY, FALLBACK = "us-east-1", "us-west-2"


def offline_config(tmp_path: Path) -> Path:
    """No endpoints and no credentials: agentkit's deterministic engine answers."""
    path = tmp_path / "agentkit.yaml"
    path.write_text("{}\n")
    return path


def emulator_config(tmp_path: Path, emu: Emulator, *routes: str) -> Path:
    endpoints = ", ".join(f'{r}: "{u}"' for r, u in emu.endpoints.items())
    lines = "".join(
        f"    - {{model: us.anthropic.claude-sonnet-4-5-20250929-v1:0, region: {r}}}\n"
        for r in routes or (PRIMARY,)
    )
    path = tmp_path / "agentkit.yaml"
    path.write_text(
        f"models:\n  residency: us\n  routes:\n{lines}  endpoints: {{{endpoints}}}\n"
        "resilience: {timeouts: {connect_s: 1, read_s: 5}}\n"
    )
    return path


class Served:
    """A TestClient on an app, with the spans it recorded and its wall clock."""

    def __init__(self, client: TestClient, spans: InMemorySpanExporter, wall: list[float]) -> None:
        self.client = client
        self.spans = spans
        self.wall = wall

    def ask(self, prompt: str, **extra: Any) -> Any:
        headers = extra.pop("headers", {})
        return self.client.post("/invocations", json={"prompt": prompt, **extra}, headers=headers)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    started: list[TestClient] = []

    def start(config: Path, model: Any = "auto", **options: Any) -> Served:
        settings = ServeSettings(
            config=str(config),
            sessions=str(tmp_path / "sessions.sqlite"),
            canary_state=str(tmp_path / "canary.json"),
            **options,
        )
        spans = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(spans))
        wall = [1_000.0]
        telemetry = Telemetry(provider, NoOpMeterProvider())  # the whole stack traces here
        advisor = Advisor.open(settings, model=model, telemetry=telemetry)
        app = create_app(advisor, settings, wall=lambda: wall[0])
        client = TestClient(app)
        client.__enter__()
        started.append(client)
        return Served(client, spans, wall)

    yield start
    for client in started:
        client.__exit__(None, None, None)


# Past this the gated turns below answer 504; it must be long enough for a worker thread to pick
# a turn up on a loaded machine (0.2 s once was not), since "started" decides the message.
TURN_DEADLINE_S = 3


class Gate:
    """A model that waits, inside the turn, until the test lets it answer."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def model(self) -> FunctionModel:
        def answer(request: ModelRequest) -> str:
            self.entered.set()
            assert self.release.wait(30), "the test never released the model"
            return "Warm standby fits."

        return FunctionModel(answer)


def in_thread(call: Any) -> tuple[threading.Thread, list[Any]]:
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(call()))
    thread.start()
    return thread, box


def events(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """Parse an SSE body strictly: every event is `event: NAME` then one `data: JSON` line."""
    assert raw.endswith(b"\n\n")
    parsed = []
    for block in raw.decode().split("\n\n")[:-1]:
        name, data = block.split("\n")
        assert name.startswith("event: ")
        assert data.startswith("data: ")
        parsed.append((name.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return parsed


def error_of(response: Any) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"}
    assert "\n" not in body["error"]["message"]
    return dict(body["error"])


# --- /invocations, JSON ------------------------------------------------------------------------


def test_a_question_gets_the_ask_json_answer_and_its_session(serve: Any, tmp_path: Path) -> None:
    served = serve(offline_config(tmp_path))
    response = served.ask(SAFE)
    assert response.status_code == 200
    answer = response.json()
    assert answer["strategy"] == "warm_standby"
    assert answer["degraded"] is True  # no model tier here: the deterministic engine answered
    assert response.headers[SESSION_HEADER] == answer["session"]
    document = served.client.get("/openapi.json").json()
    schema = {**document["components"]["schemas"]["Answer"], "components": document["components"]}
    jsonschema.validate(answer, schema)


def test_a_session_from_the_agentcore_header_continues(serve: Any, tmp_path: Path) -> None:
    served = serve(offline_config(tmp_path))
    header = {SESSION_HEADER: "c0ffee-session-1"}
    first = served.ask("What DR strategy for our Aurora database in eu-west-1?", headers=header)
    assert first.json()["answer_source"] == "question"  # it asks for the targets
    second = served.ask("RTO 20 minutes and RPO 10 seconds", headers=header)
    answer = second.json()
    assert (answer["session"], answer["strategy"]) == ("c0ffee-session-1", "warm_standby")
    assert answer["tool_calls"][0]["input"]["primary_region"] == "eu-west-1"  # remembered
    other = served.ask("RTO 20 minutes and RPO 10 seconds", session_id="another-session")
    calls = other.json()["tool_calls"]
    assert calls[0]["input"].get("primary_region") != "eu-west-1"  # a new session knows nothing


def test_high_stakes_advice_waits_and_an_approval_resumes_it(serve: Any, tmp_path: Path) -> None:
    served = serve(offline_config(tmp_path))
    paused = served.ask(LOSSY, session_id="ledger-1").json()
    assert paused["approval"]["status"] == "pending"
    decision = {"session_id": "ledger-1", "approval": {"approved": True, "by": "dana"}}
    resumed = served.client.post("/invocations", json=decision)
    assert resumed.status_code == 200
    assert resumed.json()["approval"] == {
        "status": "approved",
        "by": "dana",
        "reasons": paused["approval"]["reasons"],
    }
    again = served.client.post("/invocations", json=decision)
    assert again.status_code == 409
    assert error_of(again) == {
        "code": "no_pending_approval",
        "message": "session ledger-1: no advice waits for an approval",
    }


# --- errors: 400, 413, 404 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b"{nope", {}, "invalid JSON: Expecting property name enclosed in double quotes at line 1"),
        (b"[1, 2]", {}, "the body must be a JSON object"),
        (b'{"prompt": 3}', {}, "prompt: Input should be a valid string"),
        (b'{"prompt": "x", "user": 1}', {}, "user: unknown field; the fields are prompt"),
        (b'{"prompt": "   "}', {}, "prompt: empty"),
        (b'{"prompt": "x", "stream": "yes"}', {}, "stream: Input should be a valid boolean"),
        (b"{}", {}, 'give either "prompt" (a question) or "approval" (a decision)'),
        (b'{"approval": {"approved": true, "by": "x"}}', {}, "an approval needs the session"),
        (b'{"prompt": "x", "session_id": "a b"}', {}, "session_id: 1-256 characters"),
        (
            b'{"prompt": "x", "session_id": "one"}',
            {SESSION_HEADER: "two"},
            "session_id differs from the X-Amzn-Bedrock-AgentCore-Runtime-Session-Id header",
        ),
        (b"\xff\xfe", {}, "the body is not UTF-8 text"),
    ],
)
def test_a_bad_request_is_400_with_one_clear_line(
    serve: Any, tmp_path: Path, body: bytes, headers: dict[str, str], message: str
) -> None:
    served = serve(offline_config(tmp_path))
    response = served.client.post("/invocations", content=body, headers=headers)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_request"
    assert error["message"].startswith(message), error["message"]


def test_a_body_over_the_limit_is_413_declared_or_streamed(serve: Any, tmp_path: Path) -> None:
    served = serve(offline_config(tmp_path), max_body_bytes=2048)
    big = json.dumps({"prompt": "x" * 4000}).encode()
    declared = served.client.post("/invocations", content=big)
    assert declared.status_code == 413
    assert error_of(declared) == {
        "code": "payload_too_large",
        "message": "the body is over 2,048 bytes (--max-body-bytes)",
    }
    chunked = served.client.post("/invocations", content=iter([big[:1500], big[1500:]]))
    assert chunked.status_code == 413  # no Content-Length: counted as it arrives
    assert served.ask("x" * 100).status_code == 200  # under the limit


def test_unknown_paths_and_methods_answer_json(serve: Any, tmp_path: Path) -> None:
    served = serve(offline_config(tmp_path))
    missing = served.client.get("/nope")
    assert (missing.status_code, error_of(missing)["code"]) == (404, "not_found")
    wrong = served.client.get("/invocations")
    assert wrong.status_code == 405
    assert error_of(wrong) == {
        "code": "method_not_allowed",
        "message": "GET /invocations: method not allowed; use POST",
    }


# --- /ping, capacity and deadlines -------------------------------------------------------------


def test_ping_is_busy_while_a_turn_is_in_flight(serve: Any, tmp_path: Path) -> None:
    gate = Gate()
    served = serve(offline_config(tmp_path), model=gate.model())
    assert served.client.get("/ping").json() == {"status": "Healthy", "time_of_last_update": 1000}
    served.wall[0] = 1_100.0
    thread, box = in_thread(lambda: served.ask(SAFE))
    assert gate.entered.wait(30)
    assert served.client.get("/ping").json() == {
        "status": "HealthyBusy",
        "time_of_last_update": 1100,
    }
    served.wall[0] = 1_200.0
    gate.release.set()
    thread.join(30)
    assert box[0].status_code == 200
    assert served.client.get("/ping").json() == {"status": "Healthy", "time_of_last_update": 1200}
    assert not [s for s in served.spans.get_finished_spans() if s.name.endswith("/ping")]


def test_past_its_deadline_a_turn_is_504_and_a_queued_one_never_starts(
    serve: Any, tmp_path: Path
) -> None:
    gate = Gate()
    served = serve(
        offline_config(tmp_path), model=gate.model(), deadline_s=TURN_DEADLINE_S, capacity=1
    )
    late = served.ask(SAFE, session_id="s-1")
    assert late.status_code == 504
    assert error_of(late) == {
        "code": "deadline_exceeded",
        "message": "the turn did not finish within the 3 s deadline; it runs on and its "
        "session records it when it ends",
    }
    assert late.headers[SESSION_HEADER] == "s-1"
    queued = served.ask(SAFE, session_id="s-2")  # the one slot is still taken
    assert queued.status_code == 504
    assert error_of(queued)["message"].endswith("never started (the worker is busy); retry later")
    assert served.client.get("/ping").json()["status"] == "HealthyBusy"
    gate.release.set()


def test_on_sqlite_a_worker_takes_turns_one_at_a_time(serve: Any, tmp_path: Path) -> None:
    """The SQLite store holds one lock for the whole file: another session waits its turn even
    with a free slot (PostgreSQL serialises per session only)."""
    gate = Gate()
    served = serve(
        offline_config(tmp_path), model=gate.model(), deadline_s=TURN_DEADLINE_S, capacity=4
    )
    assert served.ask(SAFE, session_id="s-1").status_code == 504  # holds the model
    other = served.ask(SAFE, session_id="s-2")
    assert error_of(other)["message"].endswith("never started (the worker is busy); retry later")
    gate.release.set()


def test_a_streamed_turn_past_its_deadline_ends_with_an_error_event(
    serve: Any, tmp_path: Path
) -> None:
    gate = Gate()
    served = serve(offline_config(tmp_path), model=gate.model(), deadline_s=TURN_DEADLINE_S)
    response = served.ask(SAFE, stream=True)
    assert response.status_code == 200
    assert events(response.content)[-1] == (
        "error",
        {
            "type": "error",
            "error": {
                "code": "deadline_exceeded",
                "message": "the turn did not finish within the 3 s deadline; it runs on and "
                "its session records it when it ends",
            },
        },
    )
    gate.release.set()


# --- Server-Sent Events ------------------------------------------------------------------------

SCRIPT = Script.model_validate(
    {
        "*": [
            {"tool_use": {"name": "requirements", "input": {}}},
            {
                "text": f"Warm standby fits. Rotate {AWS_ACCESS_KEY} and {AWS_SECRET_KEY} after "
                "the drill. Done."
            },
        ]
    }
)


def emulated() -> pytest.MarkDecorator:
    return pytest.mark.emulator(regions=[PRIMARY], responder=Responder(SCRIPT))


@pytest.mark.parametrize(
    "ask_for_events",
    [  # a responder each: a script's turns are played once
        pytest.param(how, marks=emulated()) for how in ("accept", "body")
    ],
)
def test_streamed_text_is_guarded_and_the_secret_never_reaches_the_wire(
    serve: Any, tmp_path: Path, bedrock_emulator: Emulator, ask_for_events: str
) -> None:
    served = serve(emulator_config(tmp_path, bedrock_emulator))
    if ask_for_events == "accept":
        response = served.ask(SAFE, headers={"Accept": "text/event-stream"})
    else:
        response = served.ask(SAFE, stream=True)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    raw = response.content
    for secret in (AWS_ACCESS_KEY, AWS_SECRET_KEY):
        assert secret.encode() not in raw
    parsed = events(raw)
    names = [name for name, _ in parsed]
    assert names[-1] == "answer"
    assert set(names[:-1]) == {"text"}  # text events, then exactly one answer
    streamed = "".join(data["text"] for _, data in parsed[:-1])
    assert streamed.startswith("Warm standby fits.")
    final = parsed[-1][1]
    assert final["type"] == "answer"
    assert final["session"] == response.headers[SESSION_HEADER]
    assert final["region"] == PRIMARY


# --- traces ------------------------------------------------------------------------------------


def test_a_request_is_a_server_span_in_the_callers_trace(serve: Any, tmp_path: Path) -> None:
    served = serve(offline_config(tmp_path))
    trace_id, parent_id = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    response = served.ask(
        SAFE,
        session_id="traced-1",
        headers={"traceparent": f"00-{trace_id}-{parent_id}-01"},
    )
    assert response.status_code == 200
    spans = {span.name: span for span in served.spans.get_finished_spans()}
    server = spans["POST /invocations"]
    assert server.kind == SpanKind.SERVER
    assert server.parent is not None
    assert (f"{server.context.trace_id:032x}", f"{server.parent.span_id:016x}") == (
        trace_id,
        parent_id,
    )
    attributes = dict(server.attributes or {})
    assert attributes["http.request.method"] == "POST"
    assert attributes["http.route"] == "/invocations"
    assert attributes["http.response.status_code"] == 200
    assert attributes["gen_ai.conversation.id"] == "traced-1"
    agent = spans["invoke_agent dr-advisor"]
    assert agent.parent is not None
    assert agent.parent.span_id == server.context.span_id  # the turn is the request's child


# --- /health and /openapi.json -----------------------------------------------------------------


@pytest.mark.emulator(regions=[PRIMARY, FALLBACK])
def test_deep_health_is_503_only_when_no_route_answers(
    serve: Any, tmp_path: Path, bedrock_emulator: Emulator
) -> None:
    served = serve(emulator_config(tmp_path, bedrock_emulator, PRIMARY, FALLBACK), health_ttl_s=0)
    bedrock_emulator.set_faults({"regions": {PRIMARY: {"down": True}}})
    one_down = served.client.get("/health")
    assert (one_down.status_code, one_down.json()["status"]) == (200, "healthy")
    assert one_down.json()["turns"] == {"in_flight": 0, "running": 0, "capacity": 16}
    bedrock_emulator.set_faults({"regions": {PRIMARY: {"down": True}, FALLBACK: {"down": True}}})
    all_down = served.client.get("/health")
    assert (all_down.status_code, all_down.json()["status"]) == (503, "unhealthy")
    assert served.client.get("/ping").json()["status"] == "Healthy"  # /ping keeps its contract
    bedrock_emulator.set_faults({})
    assert served.client.get("/health").status_code == 200


@pytest.mark.emulator(regions=[PRIMARY])
def test_a_health_verdict_is_reused_within_its_ttl(
    serve: Any, tmp_path: Path, bedrock_emulator: Emulator
) -> None:
    served = serve(emulator_config(tmp_path, bedrock_emulator), health_ttl_s=3600)
    assert served.client.get("/health").status_code == 200
    probes = len(bedrock_emulator.calls())
    bedrock_emulator.set_faults({"regions": {PRIMARY: {"down": True}}})
    assert served.client.get("/health").status_code == 200  # the cached verdict
    assert len(bedrock_emulator.calls()) == probes  # no second probe


def test_the_openapi_description_matches_what_is_validated(serve: Any, tmp_path: Path) -> None:
    served = serve(offline_config(tmp_path), max_body_bytes=4096, deadline_s=30)
    document = served.client.get("/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {"/invocations", "/ping", "/health", "/openapi.json"}
    operation = document["paths"]["/invocations"]["post"]
    assert {"400", "409", "413", "504"} <= set(operation["responses"])
    assert "4,096 bytes" in operation["description"]
    assert "30 s gets 504" in operation["description"]
    schemas = document["components"]["schemas"]
    request = {**schemas["InvocationRequest"], "components": document["components"]}
    jsonschema.validate({"prompt": SAFE, "stream": True}, request)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"prompt": SAFE, "user": "x"}, request)
    properties = schemas["InvocationRequest"]["properties"]
    assert set(properties) == {"prompt", "session_id", "stream", "approval"}
    assert schemas["InvocationRequest"]["additionalProperties"] is False
