"""Attribute names, as plain strings (the semconv package's GenAI constants are deprecated).

GenAI names follow the OpenTelemetry GenAI conventions. There is no convention yet for
retries, fallbacks or breaker state, so agentkit defines the ``agentkit.*`` events below.
"""

from __future__ import annotations

# GenAI conventions
OPERATION_NAME = "gen_ai.operation.name"
PROVIDER_NAME = "gen_ai.provider.name"
REQUEST_MODEL = "gen_ai.request.model"
REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
REQUEST_TEMPERATURE = "gen_ai.request.temperature"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
# Input tokens served from / written to a provider-managed prompt cache; both are included in
# gen_ai.usage.input_tokens, as the conventions ask (Bedrock's inputTokens excludes them).
USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
USAGE_CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
TOKEN_TYPE = "gen_ai.token.type"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
AGENT_NAME = "gen_ai.agent.name"
CONVERSATION_ID = "gen_ai.conversation.id"
INPUT_MESSAGES = "gen_ai.input.messages"  # opt-in content
OUTPUT_MESSAGES = "gen_ai.output.messages"  # opt-in content
ERROR_TYPE = "error.type"
CLOUD_REGION = "cloud.region"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
PROCESS_EXIT_CODE = "process.exit.code"

PROVIDER_BEDROCK = "aws.bedrock"

# agentkit's own attributes and events
ROUTE = "agentkit.route"
SERVICE_TIER = "aws.bedrock.service_tier"  # the tier the response reports
ATTEMPTS = "agentkit.attempts"
FALLBACK_COUNT = "agentkit.fallbacks"
EVENT_RETRY = "agentkit.retry"  # attempt, backoff_s, error.type, cloud.region, agentkit.route
EVENT_FALLBACK = "agentkit.fallback"  # from, to, reason
EVENT_BREAKER = "agentkit.breaker.state_change"  # agentkit.route, from, to
EVENT_ROUTE_DISABLED = "agentkit.route.disabled"  # agentkit.route, error.type, reason
EVENT_ADMISSION = "agentkit.admission"  # agentkit.route, decision (spilled, queued), priority
COMMAND = "agentkit.command"  # the CLI command of a root span: "ask", "runbook plan"
STEP = "agentkit.step"  # the graph node of a step span
STEP_INDEX = "agentkit.step.index"  # LangGraph's superstep number
STEP_INTERRUPTED = "agentkit.step.interrupted"  # the step paused for approval
OUTCOME = "agentkit.outcome"  # ok | error, on the request and attempt counters
REASON = "agentkit.reason"  # why a fallback happened
KNOWLEDGE_BASE_ID = "aws.bedrock.knowledge_base.id"  # the id that answered a retrieval
KNOWLEDGE_BASE = "agentkit.knowledge_base"  # the knowledge base's name in agentkit.yaml
RETRIEVAL_KEPT = "agentkit.retrieval.kept"  # results at or above the relevance floor
RETRIEVAL_DROPPED = "agentkit.retrieval.dropped"  # results under it, unscored or uncitable

# metrics
METRIC_TOKEN_USAGE = "gen_ai.client.token.usage"
METRIC_OPERATION_DURATION = "gen_ai.client.operation.duration"
METRIC_BREAKER_STATE = "agentkit.breaker.state"  # 0 closed, 1 half-open, 2 open
METRIC_ADMISSION_AVAILABLE = "agentkit.admission.available_tokens"  # per route
METRIC_REQUESTS = "agentkit.gateway.requests"  # calls through the gateway, by outcome
METRIC_ATTEMPTS = "agentkit.gateway.attempts"  # attempts on a route, by outcome
METRIC_RETRIES = "agentkit.gateway.retries"  # retries (a backoff, then another attempt)
METRIC_FALLBACKS = "agentkit.gateway.fallbacks"  # moves to the next route in the chain
METRIC_ROUTES_DISABLED = "agentkit.gateway.routes_disabled"  # by route and error.type
METRIC_PROMPT_CACHE_TOKENS = "agentkit.gateway.prompt_cache.tokens"  # by PROMPT_CACHE
PROMPT_CACHE = "agentkit.prompt_cache"  # read | write, on the prompt cache token counter
METRIC_BREAKER_TRANSITIONS = "agentkit.breaker.transitions"  # by route and BREAKER_TO
METRIC_TOOL_BREAKER_STATE = "agentkit.tool.breaker.state"  # per gen_ai.tool.name, as above
METRIC_TOOL_BREAKER_TRANSITIONS = "agentkit.tool.breaker.transitions"  # by tool and BREAKER_TO
BREAKER_TO = "agentkit.breaker.to"  # the state a breaker entered: open | half-open | closed
METRIC_ADMISSION_REJECTIONS = "agentkit.admission.rejections"  # calls no route could admit
METRIC_CANARY_CHECKS = "agentkit.canary.checks"  # per route, CANARY_OUTCOME
CANARY_OUTCOME = "outcome"  # success | failure, on the canary counter
METRIC_ANSWERS = "agentkit.answers"  # agent runs per capability (gen_ai.agent.name), by outcome
METRIC_ANSWER_DURATION = "agentkit.answer.duration"  # one run's seconds, per capability
STOP_REASON = "agentkit.stop_reason"  # on the answer metrics when a run did not answer
METRIC_GUARDRAIL_EVENTS = "agentkit.guardrail.events"  # a guard blocked, redacted, intervened
GUARD = "agentkit.guard"  # input | output | bedrock: which guard acted
GUARDRAIL_ACTION = "agentkit.guardrail.action"  # blocked | redacted | replaced | intervened
GUARDRAIL_KIND = "agentkit.guardrail.kind"  # injection | off_topic | pii | secret | ungrounded ...
METRIC_KB_RETRIEVALS = "agentkit.knowledge.retrievals"  # Retrieve calls, by region and outcome
# The team's own detectors publish this one (agentkit never does): an alarm the runbooks name
# for an application store, AWS Health or a person's declaration, dimension ``signal``.
METRIC_SIGNAL = "agentkit.signal"
