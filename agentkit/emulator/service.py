"""Bedrock Runtime operations, as the emulator answers them (transport-free, CPU only).

The ASGI layer (``agentkit.emulator.asgi``) turns HTTP into :meth:`BedrockService.open` and
:meth:`BedrockService.execute` calls, and applies the timing faults (latency, black hole, drop).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from agentkit.bedrock.sizing import model_row
from agentkit.bedrock.tokens import converse_input_tokens
from agentkit.capacity.bucket import Reservation
from agentkit.emulator.cache import PromptCache
from agentkit.emulator.calllog import CallLog, CallRecord, parse_attempt, parse_signed_region
from agentkit.emulator.eventstream import error_frame, event_frame, exception_frame
from agentkit.emulator.faults import Decision, FaultPlan, FaultState, StreamFaults
from agentkit.emulator.guardrails import GuardrailRegistry, GuardrailSpec, evaluate
from agentkit.emulator.invoke import from_invoke_body, to_invoke_body
from agentkit.emulator.knowledge import KnowledgeCorpus, retrieve_body
from agentkit.emulator.limits import MAX_REQUEST_DEPTH
from agentkit.emulator.responder import Reply, Responder, last_user_text
from agentkit.emulator.routing import cris_candidates
from agentkit.emulator.wire_errors import ERRORS, BedrockError, error_body
from agentkit.resilience.clock import SYSTEM_CLOCK, Clock
from agentkit.yamlsource import bounded_int, json_depth

DEFAULT_MAX_TOKENS = 4096  # reserved against a quota when a request sets no maxTokens
_STREAM_CHUNK_WORDS = 4


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class StreamAnswer:
    frames: list[bytes]
    faults: StreamFaults
    error: bytes | None = None  # the frame sent instead of frames[error_after_events:]


@dataclass
class Call:
    """One request in flight."""

    record: CallRecord
    operation: str
    target: str  # model id, or guardrail "id/version"
    decision: Decision
    started: float = field(default_factory=time.perf_counter)
    reservation: Reservation | None = None
    burndown: float = 1.0


_NOT_ON_A_MODEL = frozenset({"ApplyGuardrail", "Retrieve"})
_ROUTES = {
    "converse": "Converse",
    "converse-stream": "ConverseStream",
    "invoke": "InvokeModel",
    "count-tokens": "CountTokens",
}


def parse_path(method: str, path: str) -> tuple[str, str] | None:
    """(operation, target) for a Bedrock Runtime path, or None when it is not one."""
    if method != "POST":
        return None
    parts = path.strip("/").split("/")
    if len(parts) == 3 and parts[0] == "model" and parts[2] in _ROUTES:
        return _ROUTES[parts[2]], unquote(parts[1])
    if len(parts) == 3 and parts[0] == "knowledgebases" and parts[2] == "retrieve":
        return "Retrieve", unquote(parts[1])  # Agents for Amazon Bedrock Runtime
    if (
        len(parts) == 5
        and parts[0] == "guardrail"
        and parts[2] == "version"
        and parts[4] == "apply"
    ):
        return "ApplyGuardrail", f"{unquote(parts[1])}/{unquote(parts[3])}"
    return None


class BedrockService:
    def __init__(
        self,
        regions: list[str],
        *,
        plan: FaultPlan | None = None,
        responder: Responder | None = None,
        guardrails: GuardrailRegistry | None = None,
        knowledge: KnowledgeCorpus | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.regions = regions
        self.faults = FaultState(plan or FaultPlan(), clock)
        self.responder = responder or Responder()
        self.guardrails = guardrails or GuardrailRegistry()
        self.knowledge = knowledge or KnowledgeCorpus()
        self.log = CallLog()
        self.prompt_cache = PromptCache(clock)
        self._clock = clock

    def set_plan(self, plan: FaultPlan) -> None:
        self.faults = FaultState(plan, self._clock)

    # --- request lifecycle ---------------------------------------------------------------------

    def open(
        self,
        region: str,
        operation: str,
        target: str,
        headers: dict[str, str],
        http_version: str = "1.1",
    ) -> Call:
        on_model = operation not in _NOT_ON_A_MODEL
        served = self._serving_region(region, target) if on_model else region
        record = self.log.open(
            region=region,
            served_region=served,
            operation=operation,
            model=target if on_model else "",
            knowledge_base=target if operation == "Retrieve" else None,
            attempt=parse_attempt(headers.get("amz-sdk-request")),
            signed_region=parse_signed_region(headers.get("authorization")),
            http_version=http_version,
        )
        decision = self.faults.decide(served, target, operation)
        return Call(record, operation, target, decision)

    def close(self, call: Call, status: int, error_code: str | None = None) -> None:
        call.record.status = status
        call.record.error_code = error_code
        call.record.latency_ms = round((time.perf_counter() - call.started) * 1000, 3)

    def execute(self, call: Call, body: bytes) -> Answer | StreamAnswer:
        """Answer ``call``; error faults are raised as :class:`BedrockError`."""
        rule = call.decision.error
        if rule is not None:
            extra = {"x-amz-retry-after": str(rule.retry_after_ms)} if rule.retry_after_ms else {}
            raise BedrockError(rule.code, rule.message, **extra)
        request = _json_object(body)
        handler = getattr(self, "_" + call.operation)
        answer: Answer | StreamAnswer = handler(call, request)
        return answer

    def error_answer(self, call: Call | None, error: BedrockError) -> Answer:
        status, headers, body = error_body(error.code, error.message)
        headers.update(error.headers)
        if call is not None:
            self.close(call, status, error.code)
        return Answer(status, headers, body)

    # --- operations ----------------------------------------------------------------------------

    def _Converse(self, call: Call, request: dict[str, Any]) -> Answer:
        reply, trace = self._converse_reply(call, request)
        body = {
            "output": {"message": {"role": "assistant", "content": reply.content}},
            "stopReason": reply.stop_reason,
            "usage": self._usage(call),
            "metrics": {"latencyMs": _elapsed_ms(call)},
            **_capacity_echo(call, request),
        }
        if trace:
            body["trace"] = {"guardrail": trace}
        self.close(call, 200)
        return _json_answer(body)

    def _ConverseStream(self, call: Call, request: dict[str, Any]) -> StreamAnswer:
        reply, trace = self._converse_reply(call, request)
        frames = [event_frame("messageStart", {"role": "assistant"})]
        for index, block in enumerate(reply.content):
            frames += _block_frames(index, block)
        frames.append(event_frame("messageStop", {"stopReason": reply.stop_reason}))
        metadata: dict[str, Any] = {
            "usage": self._usage(call),
            "metrics": {"latencyMs": _elapsed_ms(call)},
            **_capacity_echo(call, request),
        }
        if trace:
            metadata["trace"] = {"guardrail": trace}
        frames.append(event_frame("metadata", metadata))
        faults = call.decision.stream
        error = None
        if faults.error_after_events is not None and faults.error_after_events < len(frames):
            message = ERRORS[faults.error_code[:1].upper() + faults.error_code[1:]].message
            if faults.error_kind == "exception":
                error = exception_frame(faults.error_code, message)
            else:
                error = error_frame(faults.error_code, message)
        self.close(call, 200, faults.error_code if error else None)
        return StreamAnswer(frames, faults, error)

    def _InvokeModel(self, call: Call, request: dict[str, Any]) -> Answer:
        converse_request, dialect = from_invoke_body(request)
        reply, _ = self._converse_reply(call, converse_request)
        body = to_invoke_body(dialect, call.target, reply, call.record)
        self.close(call, 200)
        return _json_answer(body)

    def _CountTokens(self, call: Call, request: dict[str, Any]) -> Answer:
        source = request.get("input")
        if not isinstance(source, dict) or not ({"converse", "invokeModel"} & source.keys()):
            raise BedrockError("ValidationException", "input must contain converse or invokeModel")
        if "converse" in source:
            converse_request = _require_messages(source["converse"])
        else:
            raw = _decode_blob(source["invokeModel"].get("body", ""))
            converse_request, _ = from_invoke_body(_json_object(raw))
        tokens = converse_input_tokens(converse_request)
        call.record.input_tokens = tokens
        self.close(call, 200)
        return _json_answer({"inputTokens": tokens})

    def _ApplyGuardrail(self, call: Call, request: dict[str, Any]) -> Answer:
        identifier, version = call.target.split("/", 1)
        spec = self._guardrail(call.record.region, identifier, version)
        source = request.get("source")
        if source not in ("INPUT", "OUTPUT"):
            raise BedrockError("ValidationException", "source must be INPUT or OUTPUT")
        texts = [c["text"]["text"] for c in request.get("content") or [] if "text" in c]
        text = "\n".join(texts)
        result = evaluate(spec, text, source)
        body = {
            "usage": result.usage,
            "action": "GUARDRAIL_INTERVENED" if result.intervened else "NONE",
            "outputs": [{"text": result.output_text}] if result.intervened else [],
            "assessments": [result.assessment] if result.assessment else [],
            "guardrailCoverage": {"textCharacters": {"guarded": len(text), "total": len(text)}},
        }
        if result.intervened:
            body["actionReason"] = "Guardrail blocked." if result.blocked else "Guardrail masked."
        self.close(call, 200)
        return _json_answer(body)

    def _Retrieve(self, call: Call, request: dict[str, Any]) -> Answer:
        body = retrieve_body(
            self.knowledge, call.record.region, call.target, request, call.decision.retrieval
        )
        self.close(call, 200)
        return _json_answer(body)

    # --- helpers -------------------------------------------------------------------------------

    def _converse_reply(
        self, call: Call, request: dict[str, Any]
    ) -> tuple[Reply, dict[str, Any] | None]:
        _validate_converse(_require_messages(request))
        input_tokens = converse_input_tokens(request)
        max_tokens = (request.get("inferenceConfig") or {}).get("maxTokens") or DEFAULT_MAX_TOKENS
        _check_window(call.target, input_tokens, max_tokens)
        self._reserve(call, input_tokens, max_tokens)  # every input token, cached or not
        cached = self.prompt_cache.apply(call.record.served_region, call.target, request)
        call.record.cache_read_tokens, call.record.cache_write_tokens = cached.read, cached.write
        input_tokens -= cached.read + cached.write
        call.record.input_tokens = input_tokens
        guard_config = request.get("guardrailConfig")
        if guard_config:
            reply, trace = self._guarded_reply(call, request, guard_config)
        else:
            reply, trace = self.responder.reply(call.target, request), None
        call.record.output_tokens = reply.output_tokens
        used = input_tokens + call.record.cache_write_tokens  # cache reads are not charged
        self._settle(call, used + reply.output_tokens * call.burndown)
        return reply, trace

    def _guarded_reply(
        self, call: Call, request: dict[str, Any], config: dict[str, Any]
    ) -> tuple[Reply, dict[str, Any] | None]:
        gid = str(config.get("guardrailIdentifier", ""))
        spec = self._guardrail(call.record.region, gid, str(config.get("guardrailVersion", "")))
        trace_on = config.get("trace", "disabled") != "disabled"
        inbound = evaluate(spec, last_user_text(request), "INPUT")
        trace: dict[str, Any] = {}
        if inbound.assessment:
            trace["inputAssessment"] = {gid: inbound.assessment}
        if inbound.blocked:
            return Reply([{"text": inbound.output_text}], "guardrail_intervened"), (
                trace if trace_on else None
            )
        reply = self.responder.reply(call.target, request)
        outbound = evaluate(spec, reply.text, "OUTPUT")
        if outbound.assessment:
            trace["outputAssessments"] = {gid: [outbound.assessment]}
        if outbound.intervened:
            reply = Reply([{"text": outbound.output_text}], "guardrail_intervened")
        return reply, (trace if trace_on and trace else None)

    def _guardrail(self, region: str, identifier: str, version: str) -> GuardrailSpec:
        spec = self.guardrails.find(region, identifier, version)
        if spec is None:
            raise BedrockError(
                "ResourceNotFoundException",
                "The guardrail identifier or version provided does not exist: "
                f"{identifier}:{version}"
                f" in {region}.",
            )
        return spec

    def _reserve(self, call: Call, input_tokens: int, max_tokens: int) -> None:
        """Admission as Bedrock does it: reserve input + maxTokens x burndown, or throttle."""
        bucket = self.faults.bucket(call.decision)
        if bucket is None or call.decision.quota is None:
            return
        call.burndown = call.decision.quota.burndown
        reservation = input_tokens + max_tokens * call.burndown
        call.reservation = bucket.try_reserve(reservation)
        if call.reservation is None:
            raise BedrockError(
                "ThrottlingException", "Too many tokens, please wait before trying again."
            )

    def _settle(self, call: Call, used: float) -> None:
        bucket = self.faults.bucket(call.decision)
        if bucket is not None and call.reservation is not None:
            bucket.settle(call.reservation, used)

    def _usage(self, call: Call) -> dict[str, int]:
        record = call.record
        i, o = record.input_tokens, record.output_tokens
        read, write = record.cache_read_tokens, record.cache_write_tokens
        usage = {"inputTokens": i, "outputTokens": o, "totalTokens": i + o + read + write}
        if read or write:
            usage.update(cacheReadInputTokens=read, cacheWriteInputTokens=write)
        return usage

    def _serving_region(self, region: str, model: str) -> str:
        faults = self.faults.region(region)
        candidates = [r for r in cris_candidates(model, region, self.regions) if self._serves(r)]
        if not candidates:
            return region
        if faults.cris_destination in candidates:
            return faults.cris_destination or region
        if self.faults.plan.cris_routing == "spread":
            return self.faults.next_spread(region, candidates)
        return region

    def _serves(self, region: str) -> bool:
        faults = self.faults.region(region)
        return not (faults.down or faults.blackhole)


def _json_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object: strict (no NaN), at most MAX_REQUEST_DEPTH deep."""
    try:
        data = json.loads(body or b"{}", parse_constant=_not_a_number, parse_int=bounded_int)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        data = _MALFORMED
    if data is _MALFORMED or json_depth(data) > MAX_REQUEST_DEPTH:
        raise BedrockError(
            "ValidationException",
            "Malformed input request, please reformat your input and try again.",
        )
    if not isinstance(data, dict):
        raise BedrockError(
            "ValidationException", "Malformed input request: expected a JSON object."
        )
    return data


_MALFORMED = object()


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _decode_blob(value: Any) -> bytes:
    """A blob member of a JSON body arrives base64-encoded."""
    try:
        return base64.b64decode(str(value), validate=True)
    except (ValueError, binascii.Error):
        raise BedrockError(
            "ValidationException", "invokeModel.body must be base64 encoded"
        ) from None


def _require_messages(request: Any) -> dict[str, Any]:
    if not isinstance(request, dict) or request.get("messages") is None:
        raise BedrockError(
            "ValidationException",
            "1 validation error detected: Value null at 'messages' failed to satisfy constraint: "
            "Member must not be null",
        )
    return request


def _validate_converse(request: dict[str, Any]) -> None:
    messages = request["messages"]
    if not isinstance(messages, list) or not messages:
        raise BedrockError("ValidationException", "A conversation must start with a user message.")
    if not isinstance(messages[0], dict) or messages[0].get("role") != "user":
        raise BedrockError("ValidationException", "A conversation must start with a user message.")
    for before, after in itertools.pairwise(messages):
        if before.get("role") == after.get("role"):
            raise BedrockError(
                "ValidationException",
                "A conversation must alternate between user and assistant roles.",
            )
    config = request.get("inferenceConfig") or {}
    if "maxTokens" in config and (
        not isinstance(config["maxTokens"], int) or config["maxTokens"] < 1
    ):
        raise BedrockError(
            "ValidationException",
            "1 validation error detected: Value at 'inferenceConfig.maxTokens' failed to satisfy "
            "constraint: Member must have value greater than or equal to 1",
        )
    temperature = config.get("temperature")
    if temperature is not None and not 0 <= temperature <= 1:
        raise BedrockError(
            "ValidationException",
            "1 validation error detected: Value at 'inferenceConfig.temperature' failed to satisfy "
            "constraint: Member must have value less than or equal to 1",
        )


def _block_frames(index: int, block: dict[str, Any]) -> list[bytes]:
    frames: list[bytes] = []
    if "toolUse" in block:
        use = block["toolUse"]
        start = {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}
        frames.append(
            event_frame("contentBlockStart", {"start": start, "contentBlockIndex": index})
        )
        raw = json.dumps(use["input"], separators=(",", ":"))
        for piece in (raw[i : i + 24] for i in range(0, len(raw), 24)):
            delta = {"toolUse": {"input": piece}}
            frames.append(
                event_frame("contentBlockDelta", {"delta": delta, "contentBlockIndex": index})
            )
    else:
        words = str(block.get("text", "")).split(" ")
        for i in range(0, len(words), _STREAM_CHUNK_WORDS):
            piece = " ".join(words[i : i + _STREAM_CHUNK_WORDS])
            if i + _STREAM_CHUNK_WORDS < len(words):
                piece += " "
            frames.append(
                event_frame(
                    "contentBlockDelta", {"delta": {"text": piece}, "contentBlockIndex": index}
                )
            )
    frames.append(event_frame("contentBlockStop", {"contentBlockIndex": index}))
    return frames


def _elapsed_ms(call: Call) -> int:
    return max(1, int((time.perf_counter() - call.started) * 1000))


def _json_answer(body: dict[str, Any]) -> Answer:
    return Answer(200, {"content-type": "application/json"}, json.dumps(body).encode())


def _capacity_echo(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """The service tier and latency mode the request asked for, logged and echoed as the service
    does (``serviceTier`` and ``performanceConfig`` in the response)."""
    echo: dict[str, Any] = {}
    max_tokens = (request.get("inferenceConfig") or {}).get("maxTokens")
    if isinstance(max_tokens, int):
        call.record.max_tokens = max_tokens
    tier = request.get("serviceTier")
    if isinstance(tier, dict) and isinstance(tier.get("type"), str):
        call.record.service_tier = tier["type"]
        echo["serviceTier"] = {"type": tier["type"]}
    performance = request.get("performanceConfig")
    if isinstance(performance, dict) and isinstance(performance.get("latency"), str):
        call.record.latency = performance["latency"]
        echo["performanceConfig"] = {"latency": performance["latency"]}
    return echo


def _check_window(model_id: str, input_tokens: int, max_tokens: int) -> None:
    """Refuse what the model could not take, as Bedrock does: input (cached or not) plus
    ``maxTokens`` over the model's context window (the packaged table's figure) is a 400."""
    row = model_row(model_id)
    window = row.context_window if row is not None else None
    if window is not None and input_tokens + max_tokens > window:
        raise BedrockError(
            "ValidationException",
            f"Input is too long for requested model: {input_tokens} input tokens and "
            f"{max_tokens} max tokens exceed the context window of {window} tokens.",
        )
