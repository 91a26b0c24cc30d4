"""ASGI apps of the emulator: the Bedrock Runtime endpoint of each Region, and the control API.

Both run under hypercorn, which speaks HTTP/1.1 (boto3) and HTTP/2 cleartext with prior
knowledge (the AWS SDK for JavaScript v3) on the same port.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from agentkit.emulator.faults import describe_plan_error, parse_plan
from agentkit.emulator.knowledge import KnowledgeCatalog
from agentkit.emulator.limits import MAX_PLAN_BYTES, MAX_REQUEST_BYTES
from agentkit.emulator.service import Answer, BedrockService, Call, StreamAnswer, parse_path
from agentkit.emulator.wire_errors import DROP, BedrockError, error_body
from agentkit.errors import InputError
from agentkit.yamlsource import load_yaml

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class BodyTooLarge(Exception):
    """The request body is larger than the limit for its endpoint."""


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole body, or :class:`BodyTooLarge` as soon as it passes ``limit`` bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def read_limited(scope: Scope, receive: Receive, send: Send, limit: int) -> bytes | None:
    """The body within ``limit``; else a 413 in Bedrock's error shape is sent and None returned."""
    declared = _headers(scope).get("content-length", "")
    try:
        if declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge
        return await read_body(receive, limit)
    except BodyTooLarge:
        message = f"Request body is larger than the {limit:,}-byte limit of this endpoint."
        _, headers, body = error_body("ValidationException", message)
        headers["connection"] = "close"
        await send_answer(send, Answer(413, headers, body))
        return None


async def send_answer(send: Send, answer: Answer) -> None:
    headers = [(k.encode(), v.encode()) for k, v in answer.headers.items()]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode().lower(): v.decode() for k, v in scope["headers"]}


class Connections:
    """Hooks into the transport that ASGI cannot express: drop a connection, hold it forever."""

    def __init__(self) -> None:
        self.abort: Callable[[tuple[str, int] | None], None] = lambda client: None
        self.released = asyncio.Event()  # set when a black hole ends (new plan, or shutdown)


class BedrockApp:
    def __init__(
        self, service: BedrockService, port_regions: dict[int, str], connections: Connections
    ) -> None:
        self.service = service
        self.port_regions = port_regions
        self.connections = connections

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await read_limited(scope, receive, send, MAX_REQUEST_BYTES)
        if body is None:
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        route = parse_path(scope["method"], raw_path.decode("latin-1").split("?", 1)[0])
        if route is None:
            await send_answer(send, _not_found(scope["path"]))
            return
        region = self.port_regions[scope["server"][1]]
        call = self.service.open(
            region, route[0], route[1], _headers(scope), scope.get("http_version", "1.1")
        )
        decision = call.decision
        if decision.latency_s:
            await asyncio.sleep(decision.latency_s)
        if decision.blackhole:
            await self._hold(call, scope)
            return
        if decision.error is not None and decision.error.code == DROP:
            self.service.close(call, 0, DROP)
            self.connections.abort(scope.get("client"))
            return
        try:
            answer = self.service.execute(call, body)
        except BedrockError as error:
            answer = self.service.error_answer(call, error)
        if isinstance(answer, StreamAnswer):
            await _stream(send, answer)
        else:
            await send_answer(send, answer)

    async def _hold(self, call: Call, scope: Scope) -> None:
        self.service.close(call, 0, "blackhole")
        await self.connections.released.wait()
        self.connections.abort(scope.get("client"))


async def _stream(send: Send, answer: StreamAnswer) -> None:
    headers = [(b"content-type", b"application/vnd.amazon.eventstream")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    faults = answer.faults
    stop_at = faults.error_after_events if answer.error is not None else None
    for index, frame in enumerate(answer.frames):
        if index == stop_at:
            break
        delay = faults.ttft_ms if index == 0 else faults.inter_event_ms
        if delay:
            await asyncio.sleep(delay / 1000)
        await send({"type": "http.response.body", "body": frame, "more_body": True})
    await send({"type": "http.response.body", "body": answer.error or b"", "more_body": False})


def _not_found(path: str) -> Answer:
    body = json.dumps({"message": f"Unknown operation for path {path}"}).encode()
    headers = {"content-type": "application/json", "x-amzn-errortype": "UnknownOperationException"}
    return Answer(404, headers, body)


class ControlApp:
    """``GET/DELETE /calls``, ``GET/PUT /faults``, ``GET/PUT /knowledge``: the emulator's test
    and game-day API."""

    def __init__(
        self,
        service: BedrockService,
        apply_plan: Callable[[Any], Awaitable[None]],
        set_knowledge: Callable[[KnowledgeCatalog], Awaitable[None]] | None = None,
    ) -> None:
        self.service = service
        self.apply_plan = apply_plan
        self.set_knowledge = set_knowledge

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await read_limited(scope, receive, send, MAX_PLAN_BYTES)
        if body is None:
            return
        key = (scope["method"], scope["path"].rstrip("/"))
        if key == ("GET", "/calls"):
            records = [r.to_json() for r in self.service.log.records()]
            await send_answer(send, _json(200, {"calls": records}))
        elif key == ("DELETE", "/calls"):
            self.service.log.clear()
            await send_answer(send, Answer(204, {}, b""))
        elif key == ("GET", "/faults"):
            await send_answer(send, _json(200, self.service.faults.plan.model_dump(mode="json")))
        elif key == ("PUT", "/faults"):
            await send_answer(send, await self._put_faults(body))
        elif key == ("GET", "/knowledge"):
            catalog = self.service.knowledge.catalog
            await send_answer(send, _json(200, catalog.model_dump(mode="json")))
        elif key == ("PUT", "/knowledge") and self.set_knowledge is not None:
            await send_answer(send, await self._put_knowledge(body))
        else:
            await send_answer(send, _json(404, {"message": f"no such control endpoint: {key[1]}"}))

    async def _put_faults(self, body: bytes) -> Answer:
        try:
            text = body.decode("utf-8")
            plan = parse_plan(load_yaml(text or "{}", "fault plan", InputError).data)
        except UnicodeDecodeError:
            return _json(400, {"message": "fault plan is not UTF-8 text"})
        except InputError as exc:
            return _json(400, {"message": f"fault plan is not valid JSON or YAML: {exc}"})
        except ValueError as exc:
            return _json(400, {"message": f"invalid fault plan: {describe_plan_error(exc)}"})
        try:
            await self.apply_plan(plan)
        except ValueError as exc:
            return _json(400, {"message": f"invalid fault plan: {exc}"})
        return _json(200, plan.model_dump(mode="json"))

    async def _put_knowledge(self, body: bytes) -> Answer:
        assert self.set_knowledge is not None
        try:
            data = load_yaml(body.decode("utf-8") or "{}", "knowledge", InputError).data
            catalog = KnowledgeCatalog.model_validate(data if data is not None else {})
            await self.set_knowledge(catalog)
        except UnicodeDecodeError:
            return _json(400, {"message": "knowledge is not UTF-8 text"})
        except InputError as exc:
            return _json(400, {"message": f"knowledge is not valid JSON or YAML: {exc}"})
        except ValueError as exc:
            return _json(400, {"message": f"invalid knowledge: {describe_plan_error(exc)}"})
        return _json(200, {"knowledge_bases": _counts(catalog)})


def _counts(catalog: KnowledgeCatalog) -> dict[str, dict[str, int]]:
    return {
        region: {kb: len(docs) for kb, docs in bases.items()}
        for region, bases in catalog.root.items()
    }


def _json(status: int, body: Any) -> Answer:
    return Answer(status, {"content-type": "application/json"}, json.dumps(body).encode())
