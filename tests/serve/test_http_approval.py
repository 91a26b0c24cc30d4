"""`agentkit serve` and high-stakes advice: withheld while it waits for an approval (JSON and
SSE), shown once approved, and declined by ``timeout`` (the safe option) when the next request
for its session finds the approval timeout passed on the injected clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.trace import TracerProvider
from starlette.testclient import TestClient

from agentkit.agents.dr.workflow import SAFE_OPTION
from agentkit.bedrock.types import ModelRequest
from agentkit.serve.http import create_app
from agentkit.serve.http_service import Advisor, ServeSettings
from agentkit.telemetry.setup import Telemetry
from agentkit.testing import FunctionModel
from tests.serve.test_http import LOSSY, SAFE, error_of, events, offline_config

TIMEOUT_S = 600.0
ADVICE = "Pilot light fits."  # what the scripted model composes: the advice under approval


class Approvals:
    """A served advisor whose wall clock the test moves, and its session store."""

    def __init__(self, client: TestClient, advisor: Advisor, wall: list[float]) -> None:
        self.client = client
        self.advisor = advisor
        self.wall = wall

    def ask(self, prompt: str, session: str, **extra: Any) -> Any:
        body = {"prompt": prompt, "session_id": session, **extra}
        return self.client.post("/invocations", json=body)

    def decide(self, session: str, approved: bool, by: str = "dana") -> Any:
        decision = {"approved": approved, "by": by}
        return self.client.post("/invocations", json={"session_id": session, "approval": decision})

    def state(self, session: str) -> dict[str, Any]:
        config = {"configurable": {"thread_id": session}}
        return dict(self.advisor.runtime.graph.get_state(config).values)  # type: ignore[arg-type]


@pytest.fixture
def approvals(tmp_path: Path) -> Iterator[Any]:
    started: list[TestClient] = []

    def start(model: Any = None) -> Approvals:
        settings = ServeSettings(
            config=str(offline_config(tmp_path)),
            sessions=str(tmp_path / "sessions.sqlite"),
            canary_state=str(tmp_path / "canary.json"),
            approval_timeout_s=TIMEOUT_S,
        )
        wall = [1_000.0]
        telemetry = Telemetry(TracerProvider(), NoOpMeterProvider())
        advisor = Advisor.open(settings, model=model, telemetry=telemetry, wall=lambda: wall[0])
        client = TestClient(create_app(advisor, settings, wall=lambda: wall[0]))
        client.__enter__()
        started.append(client)
        return Approvals(client, advisor, wall)

    yield start
    for client in started:
        client.__exit__(None, None, None)


def composer() -> FunctionModel:
    """Extraction gets nothing (the parser decides); the explanation is ADVICE."""

    def answer(request: ModelRequest) -> str:
        return ADVICE

    return FunctionModel(answer)


def test_a_pending_approval_past_its_timeout_is_declined_and_refused(approvals: Any) -> None:
    served = approvals()
    paused = served.ask(LOSSY, "ledger-t").json()
    assert paused["approval"]["status"] == "pending"
    assert paused["approval"]["expires_at"] == 1_000.0 + TIMEOUT_S
    assert "Recommended strategy" not in paused["answer"]  # the advice is withheld
    assert paused["answer"].startswith("Approval required")
    assert "data loss beyond the RPO" in paused["answer"]

    served.wall[0] += TIMEOUT_S  # nothing happens until a request for the session comes
    assert served.state("ledger-t")["answer"] != SAFE_OPTION
    late = served.decide("ledger-t", approved=True)
    assert late.status_code == 409
    assert error_of(late) == {
        "code": "no_pending_approval",
        "message": "session ledger-t: no advice waits for an approval (it timed out after "
        "600 s and was declined: the safe option stands)",
    }
    state = served.state("ledger-t")
    record = {
        "status": "declined",
        "by": "timeout",
        "reasons": paused["approval"]["reasons"],
        "note": "no decision within the 600 s approval timeout",
    }
    assert state["approval"] == record
    assert state["answer"] == SAFE_OPTION
    assert state["turns"] == [{"question": LOSSY, "answer": SAFE_OPTION, "approval": record}]
    again = served.decide("ledger-t", approved=True)
    assert error_of(again)["message"] == "session ledger-t: no advice waits for an approval"


def test_an_approval_just_inside_the_timeout_is_taken(approvals: Any) -> None:
    served = approvals()
    served.ask(LOSSY, "ledger-u")
    served.wall[0] += TIMEOUT_S - 1
    resumed = served.decide("ledger-u", approved=True)
    assert resumed.status_code == 200
    assert resumed.json()["approval"]["by"] == "dana"
    assert resumed.json()["answer"].startswith("**Recommended strategy")  # now it is shown


def test_a_new_question_first_declines_the_expired_approval(approvals: Any) -> None:
    served = approvals()
    served.ask(LOSSY, "ledger-v")
    served.wall[0] += TIMEOUT_S
    answer = served.ask(SAFE, "ledger-v").json()
    assert (answer["strategy"], answer["approval"]) == ("warm_standby", None)
    first, second = served.state("ledger-v")["turns"]
    assert (first["answer"], first["approval"]["by"]) == (SAFE_OPTION, "timeout")
    assert "approval" not in second


def test_a_new_question_within_the_timeout_is_refused_and_the_approval_still_waits(
    approvals: Any,
) -> None:
    served = approvals()
    served.ask(LOSSY, "ledger-w")
    before = served.state("ledger-w")
    served.wall[0] += 100
    refused = served.ask(SAFE, "ledger-w")
    assert refused.status_code == 409
    assert error_of(refused)["code"] == "approval_pending"
    assert error_of(refused)["message"].startswith(
        "session ledger-w: advice waits for an approval for 500 s more; decide it first"
    )
    assert served.state("ledger-w") == before  # nothing dropped, nothing added
    assert served.decide("ledger-w", approved=False).json()["answer"] == SAFE_OPTION


def test_streamed_high_stakes_advice_is_withheld_until_approved(approvals: Any) -> None:
    served = approvals(model=composer())
    ordinary = served.client.post(
        "/invocations", json={"prompt": SAFE, "session_id": "s-0", "stream": True}
    )
    texts = [data["text"] for name, data in events(ordinary.content) if name == "text"]
    assert "".join(texts).startswith(ADVICE)  # ordinary advice streams
    raw = served.ask(LOSSY, "s-1", stream=True).content
    streamed = events(raw)
    assert [name for name, _ in streamed] == ["answer"]  # no text event before the pause
    assert ADVICE not in raw.decode()
    assert streamed[0][1]["approval"]["status"] == "pending"
    resumed = served.decide("s-1", approved=True).json()
    assert resumed["answer"].startswith(ADVICE)


def test_a_declined_approval_replaces_the_advice(approvals: Any) -> None:
    served = approvals(model=composer())
    paused = served.ask(LOSSY, "s-2").json()
    assert ADVICE not in paused["answer"]
    declined = served.decide("s-2", approved=False).json()
    assert declined["answer"] == SAFE_OPTION
    assert declined["approval"]["status"] == "declined"
