"""An asyncio ``bedrock-runtime`` transport: botocore builds, signs and parses; httpx sends.

Everything but the bytes on the wire is botocore's, taken from the Region's boto3 client that
:class:`~agentkit.bedrock.clients.ClientFactory` built (so the endpoint, an endpoint override,
the credentials, the signer and the timeouts are the sync path's): parameter validation and the
request serializer, endpoint resolution through the client's ruleset, the ``request-created``
event that SigV4-signs the request, the protocol's response parser, the event-stream decoder
(:class:`botocore.eventstream.EventStreamBuffer`) and the client's modeled exceptions. Only the
send is replaced, by httpx connection pools per Region (:class:`Pools`), so one event loop
thread carries any number of concurrent calls without a thread per request.

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
import functools
import os
import ssl
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

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

DEFAULT_MAX_CONNECTIONS = 256  # per Region; a call waits (FIFO) for a free one beyond that
CONNECTIONS_PER_POOL = 8  # see Pools


class Pools:
    """A Region's connections, spread over small httpx pools, with the wait for a free
    connection done here, in FIFO order.

    httpcore's pool scans every connection for every request queued in it, and wakes every
    queued request when one connection frees up (encode/httpcore#1035, pydantic/httpx2#1075):
    with a hundred connections and more requests than that, the bookkeeping costs more CPU
    than the calls. Here no httpcore pool ever has more requests than connections, and each
    is small.
    """

    def __init__(self, make: Callable[[], httpx.AsyncClient], count: int, per_pool: int) -> None:
        self._make = make
        self._pools: list[httpx.AsyncClient | None] = [None] * count
        self._busy = [0] * count
        self._free = asyncio.Semaphore(per_pool * count)

    @property
    def pools(self) -> tuple[httpx.AsyncClient, ...]:
        """The pools built so far: one at the first call, another each time the calls in
        flight need it, so a Region's first call does not build them all on the event loop."""
        return tuple(pool for pool in self._pools if pool is not None)

    def pool(self, index: int) -> httpx.AsyncClient:
        found = self._pools[index]
        if found is None:
            found = self._pools[index] = self._make()
        return found

    async def acquire(self) -> int:
        """The index of a pool with a free connection, waiting for one if need be."""
        await self._free.acquire()
        index = min(range(len(self._busy)), key=self._busy.__getitem__)
        self._busy[index] += 1
        return index

    def release(self, index: int) -> None:
        self._busy[index] -= 1
        self._free.release()

    @property
    def in_use(self) -> int:
        """Connections held by calls now (a stream holds one until it is closed)."""
        return sum(self._busy)


class AsyncRuntimeClient:
    """``converse``, ``converse_stream`` and ``count_tokens`` as coroutines, for one Region."""

    def __init__(self, client: Any, pools: Pools) -> None:
        self._client = client  # the Region's boto3 client: model, serializer, signer, endpoint
        self.pools = pools
        self._model = client.meta.service_model
        self._parser = create_parser(self._model.resolved_protocol)

    @property
    def endpoint_url(self) -> str:
        return str(self._client.meta.endpoint_url)

    async def converse(self, **params: Any) -> dict[str, Any]:
        return await self._unary("Converse", params)

    async def count_tokens(self, **params: Any) -> dict[str, Any]:
        """``CountTokens``: the input tokens of a request, as the model counts them."""
        return await self._unary("CountTokens", params)

    async def _unary(self, operation_name: str, params: dict[str, Any]) -> dict[str, Any]:
        request = self._prepare(operation_name, params)
        index = await self.pools.acquire()
        try:
            response = await self._send(index, request, stream=False)
        finally:
            self.pools.release(index)
        return self._parsed(operation_name, response, response.content)

    async def converse_stream(self, **params: Any) -> dict[str, Any]:
        """The parsed initial response; ``["stream"]`` is an :class:`AsyncEventStream`, which
        holds its connection until it is closed (``aclose``)."""
        request = self._prepare("ConverseStream", params)
        index = await self.pools.acquire()
        try:
            response = await self._send(index, request, stream=True)
        except BaseException:
            self.pools.release(index)
            raise
        try:
            if response.status_code >= 300:
                body = await _guarded(response.aread(), self.endpoint_url)
                return self._parsed("ConverseStream", response, body)
            parsed = self._parsed("ConverseStream", response, b"")
        except BaseException:
            await response.aclose()
            self.pools.release(index)
            raise
        operation = self._model.operation_model("ConverseStream")
        parsed["stream"] = AsyncEventStream(
            response,
            operation.output_shape.members["stream"],
            type(self._parser).EVENT_STREAM_PARSER_CLS(),
            self.endpoint_url,
            on_close=lambda: self.pools.release(index),
        )
        return parsed

    async def _send(self, index: int, request: Any, stream: bool) -> Any:
        http = self.pools.pool(index)
        outgoing = http.build_request(
            request.method,
            _url(request.url),
            headers=dict(request.headers.items()),
            content=request.body or b"",
        )
        return await _guarded(http.send(outgoing, stream=stream), request.url)

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

    def __init__(
        self,
        response: Any,
        shape: Any,
        parser: Any,
        endpoint_url: str,
        on_close: Callable[[], None] = lambda: None,
    ) -> None:
        self._response = response
        self._on_close: Callable[[], None] | None = on_close
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
        try:
            await self._response.aclose()
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:  # once: the connection goes back to its pool
                on_close()


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


@functools.lru_cache(maxsize=256)
def _url(url: str) -> httpx.URL:
    """botocore's request URL as httpx's, parsed once: the calls go to a few URLs (one per
    Region, model and operation), and httpx's pure-Python parse was ~45% of ``build_request``'s
    CPU (37 us -> 20 us a call, side by side in one process)."""
    import httpx

    return httpx.URL(url)


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every pool (loading the CA bundle takes ~100 ms); the bundle is
    ``AWS_CA_BUNDLE`` when set, as for botocore, else httpx's default (certifi)."""
    import httpx

    bundle = os.environ.get("AWS_CA_BUNDLE")
    return ssl.create_default_context(cafile=bundle) if bundle else httpx.create_ssl_context()


class AsyncClientFactory:
    """An :class:`AsyncRuntimeClient` per Region, each with its own connection pool, built on
    the sync factory's boto3 client for that Region. Pools belong to the event loop that made
    them: a call on another loop gets new ones, and the old ones are dropped unclosed, so one
    gateway's async calls belong on one long-lived loop, closed with ``aclose`` before it ends."""

    def __init__(
        self, clients: ClientFactory, max_connections: int = DEFAULT_MAX_CONNECTIONS
    ) -> None:
        self._clients = clients
        self._max_connections = max_connections
        self._loop: asyncio.AbstractEventLoop | None = None
        self._by_region: dict[str, AsyncRuntimeClient] = {}

    def client(self, region: str) -> AsyncRuntimeClient:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # pools cannot cross event loops
            self._loop, self._by_region = loop, {}
        found = self._by_region.get(region)
        if found is None:
            sync = self._clients.client(region)
            per_pool = min(CONNECTIONS_PER_POOL, self._max_connections)
            count = -(-self._max_connections // per_pool)
            pools = Pools(lambda: self._pool(sync, per_pool), count, per_pool)
            found = self._by_region[region] = AsyncRuntimeClient(sync, pools)
        return found

    def _pool(self, client: Any, size: int) -> httpx.AsyncClient:
        """A pool with the boto3 client's timeouts and proxy (its config's, else the
        environment's, as botocore picks them) and a TLS context shared by every pool."""
        import httpx
        from botocore.utils import get_environ_proxies

        config, url = client.meta.config, client.meta.endpoint_url
        proxies = config.proxies or get_environ_proxies(url)
        connect, read = config.connect_timeout, config.read_timeout
        return httpx.AsyncClient(
            timeout=httpx.Timeout(connect=connect, read=read, write=read, pool=None),
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
            proxy=proxies.get(urlsplit(url).scheme),
            verify=_tls_context(),
            trust_env=False,  # read above, once per Region, not once per pool (5 ms each)
        )

    async def aclose(self) -> None:
        """Close the pools of the running loop's clients."""
        clients, self._by_region, self._loop = self._by_region, {}, None
        for client in clients.values():
            for pool in client.pools.pools:
                await pool.aclose()
