"""An asyncio ``bedrock-runtime`` transport: botocore builds, signs and parses; httpx sends.

Everything but the bytes on the wire is botocore's, taken from the Region's boto3 client that
:class:`~agentkit.bedrock.clients.ClientFactory` built (so the endpoint, an endpoint override,
the credentials, the signer and the timeouts are the sync path's): parameter validation and the
request serializer, endpoint resolution through the client's ruleset, the ``request-created``
event that SigV4-signs the request, the protocol's response parser, the event-stream decoder
(:class:`botocore.eventstream.EventStreamBuffer`) and the client's modeled exceptions. Only the
send is replaced, by one :class:`httpx.AsyncClient` (a connection pool) per Region, so one event
loop thread carries any number of concurrent calls without a thread per request.

Failures are raised as botocore raises them (a ``ClientError`` subclass for an error answer,
``EventStreamError`` in a stream, ``EndpointConnectionError``, ``ConnectTimeoutError``,
``ReadTimeoutError``, ``ConnectionClosedError`` for the transport), so
:func:`agentkit.bedrock.errors.translate` stays the one place errors are translated.

The request is built with the boto3 client's own (underscored) steps of ``_make_api_call``;
``tests/bedrock/test_async_transport.py`` pins that the emulator sees the same request from both
paths, so a botocore upgrade that moves them fails a test, not a user.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from botocore.awsrequest import HTTPHeaders
from botocore.eventstream import EventStreamBuffer, EventStreamError
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
)
from botocore.parsers import create_parser

from agentkit.bedrock.clients import ClientFactory

if TYPE_CHECKING:
    import httpx

DEFAULT_MAX_CONNECTIONS = 128  # per Region; a call waits for a free connection beyond that


class AsyncRuntimeClient:
    """``converse`` and ``converse_stream`` as coroutines, for one Region."""

    def __init__(self, client: Any, http: httpx.AsyncClient) -> None:
        self._client = client  # the Region's boto3 client: model, serializer, signer, endpoint
        self._http = http
        self._model = client.meta.service_model
        self._parser = create_parser(self._model.resolved_protocol)

    @property
    def endpoint_url(self) -> str:
        return str(self._client.meta.endpoint_url)

    async def converse(self, **params: Any) -> dict[str, Any]:
        response = await self._send("Converse", params, stream=False)
        return self._parsed("Converse", response, response.content)

    async def converse_stream(self, **params: Any) -> dict[str, Any]:
        """The parsed initial response; ``["stream"]`` is an :class:`AsyncEventStream`."""
        response = await self._send("ConverseStream", params, stream=True)
        try:
            if response.status_code >= 300:
                body = await _guarded(response.aread(), self.endpoint_url)
                return self._parsed("ConverseStream", response, body)
            parsed = self._parsed("ConverseStream", response, b"")
        except BaseException:
            await response.aclose()
            raise
        operation = self._model.operation_model("ConverseStream")
        parsed["stream"] = AsyncEventStream(
            response,
            operation.output_shape.members["stream"],
            type(self._parser).EVENT_STREAM_PARSER_CLS(),
            self.endpoint_url,
        )
        return parsed

    async def _send(self, operation_name: str, params: dict[str, Any], stream: bool) -> Any:
        request = self._prepare(operation_name, params)
        outgoing = self._http.build_request(
            request.method,
            request.url,
            headers=dict(request.headers.items()),
            content=request.body or b"",
        )
        return await _guarded(self._http.send(outgoing, stream=stream), request.url)

    def _prepare(self, operation_name: str, params: dict[str, Any]) -> Any:
        """The signed request botocore's ``_make_api_call`` would send (validation included:
        a bad parameter raises ``ParamValidationError`` before anything is sent)."""
        client = self._client
        operation = self._model.operation_model(operation_name)
        context: dict[str, Any] = {
            "client_region": client.meta.region_name,
            "client_config": client.meta.config,
            "has_streaming_input": operation.has_streaming_input,
            "auth_type": operation.resolved_auth_type,
            "unsigned_payload": operation.unsigned_payload,
            "auth_options": self._model.metadata.get("auth"),
        }
        params = client._emit_api_params(
            api_params=params, operation_model=operation, context=context
        )
        endpoint_url, headers, properties = client._resolve_endpoint_ruleset(
            operation, params, context
        )
        if properties:
            context["endpoint_properties"] = properties
        request_dict = client._convert_to_request_dict(
            api_params=params,
            operation_model=operation,
            endpoint_url=endpoint_url,
            context=context,
            headers=headers,
        )
        # Emits request-created, on which the client's signer signs (SigV4 or bearer token).
        return client._endpoint.create_request(request_dict, operation)

    def _parsed(self, operation_name: str, response: Any, body: bytes) -> dict[str, Any]:
        operation = self._model.operation_model(operation_name)
        status = response.status_code
        response_dict = {
            "headers": HTTPHeaders.from_pairs(list(response.headers.items())),
            "status_code": status,
            "body": body,
            "context": {"operation_name": operation_name},
        }
        parsed: dict[str, Any] = self._parser.parse(response_dict, operation.output_shape)
        if status >= 300:
            code = parsed.get("Error", {}).get("Code")
            raise self._client.exceptions.from_code(code)(parsed, operation_name)
        return parsed


class AsyncEventStream:
    """The events of a ConverseStream answer, decoded and parsed as botocore's ``EventStream``
    does; an error event raises ``EventStreamError``. ``aclose`` gives the connection back."""

    def __init__(self, response: Any, shape: Any, parser: Any, endpoint_url: str) -> None:
        self._response = response
        self._shape = shape
        self._parser = parser  # the protocol's event-stream parser, as botocore's EventStream
        self._endpoint_url = endpoint_url

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._events()

    async def _events(self) -> AsyncIterator[dict[str, Any]]:
        decoder = EventStreamBuffer()
        chunks = self._response.aiter_raw()
        while True:
            try:
                chunk = await _guarded(anext(chunks), self._endpoint_url)
            except StopAsyncIteration:
                return
            decoder.add_data(chunk)
            for message in decoder:
                response_dict = message.to_response_dict()
                parsed = self._parser.parse(response_dict, self._shape)
                if response_dict["status_code"] != 200:
                    raise EventStreamError(parsed, "ConverseStream")
                if parsed:
                    yield parsed

    async def aclose(self) -> None:
        await self._response.aclose()


async def _guarded(awaitable: Any, url: str) -> Any:
    """Await ``awaitable``, raising httpx's transport failures as botocore's."""
    import httpx

    try:
        return await awaitable
    except httpx.ConnectTimeout as exc:
        raise ConnectTimeoutError(endpoint_url=url, error=exc) from exc
    except httpx.ConnectError as exc:
        raise EndpointConnectionError(endpoint_url=url, error=exc) from exc
    except httpx.TimeoutException as exc:  # read, write, or no free connection in time
        raise ReadTimeoutError(endpoint_url=url, error=exc) from exc
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        raise ConnectionClosedError(endpoint_url=url, error=exc) from exc
    except httpx.TransportError as exc:
        raise HTTPClientError(error=exc) from exc


class AsyncClientFactory:
    """An :class:`AsyncRuntimeClient` per Region, each with its own connection pool, built on
    the sync factory's boto3 client for that Region. Pools belong to the event loop that made
    them: a call on another loop gets new ones."""

    def __init__(
        self, clients: ClientFactory, max_connections: int = DEFAULT_MAX_CONNECTIONS
    ) -> None:
        self._clients = clients
        self._max_connections = max_connections
        self._loop: asyncio.AbstractEventLoop | None = None
        self._by_region: dict[str, AsyncRuntimeClient] = {}
        self._pools: list[httpx.AsyncClient] = []

    def client(self, region: str) -> AsyncRuntimeClient:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # pools cannot cross event loops
            self._loop, self._by_region, self._pools = loop, {}, []
        found = self._by_region.get(region)
        if found is None:
            sync = self._clients.client(region)
            http = self._pool(sync.meta.config)
            self._pools.append(http)
            found = self._by_region[region] = AsyncRuntimeClient(sync, http)
        return found

    def _pool(self, config: Any) -> httpx.AsyncClient:
        import httpx

        connect, read = config.connect_timeout, config.read_timeout
        return httpx.AsyncClient(
            timeout=httpx.Timeout(connect=connect, read=read, write=read, pool=None),
            limits=httpx.Limits(
                max_connections=self._max_connections,
                max_keepalive_connections=self._max_connections,
            ),
        )

    async def aclose(self) -> None:
        """Close the pools of the running loop's clients."""
        pools, self._pools, self._by_region, self._loop = self._pools, [], {}, None
        for pool in pools:
            await pool.aclose()
