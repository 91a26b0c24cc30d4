from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from agentkit.cli.app import app


def test_slash_commands(tmp_path: Path) -> None:
    db = str(tmp_path / "sessions.sqlite")
    script = (
        "\n".join(
            [
                "RTO 15 min RPO 1 min for payments-api in eu-west-1",
                "/trace",
                "/sessions",
                "/new",
                "/resume s1",
                "/bogus",
                "/quit",
            ]
        )
        + "\n"
    )
    result = CliRunner().invoke(app, ["chat", "--session", "s1", "--sessions", db], input=script)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "model tier unavailable" in out  # said once, up front
    assert "Recommended strategy: Warm standby" in out
    assert "invoke_agent dr-advisor" in out
    assert "execute_tool dr_advisor" in out
    assert "* s1" in out  # /sessions marks the current one
    assert "new session" in out
    assert "session s1: 1 earlier turn(s)" in out  # /resume s1
    assert "unknown command '/bogus'" in out
    assert "note: Degraded answer" in out


def test_an_oversized_question_is_one_error_line_and_the_chat_goes_on(tmp_path: Path) -> None:
    db = str(tmp_path / "sessions.sqlite")
    script = "x" * 20_001 + "\nRTO 15 min RPO 1 min for payments-api in eu-west-1\n/quit\n"
    result = CliRunner().invoke(app, ["chat", "--session", "s2", "--sessions", db], input=script)
    assert result.exit_code == 0, result.output
    assert "error: question: 20,001 characters; the limit is 20,000" in result.output
    assert "Recommended strategy: Warm standby" in result.output  # the next turn is answered
