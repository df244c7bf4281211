"""Client-side retry with backoff for the CLI and the demo: overload is answered, not queued.

A server past its capacity answers RESOURCE_EXHAUSTED (its work-in-flight limit: the call
did not run) or UNAVAILABLE (shedding, restarting, a replica gone). A client then waits and
tries again, with exponential backoff and full jitter so that the retries of many clients do
not arrive together, and never longer than the call's own deadline allows. The server's
advice wins when it gives one (`google.rpc.RetryInfo.retry_delay` in the status details).

Only where a retry is safe:
- RESOURCE_EXHAUSTED: the call was refused before it ran, so always;
- UNAVAILABLE: the call may have run before the connection broke, so only for reads
  (`Get…`, `List…`, `Search…`, `Check`, …) and for requests that carry a client
  `request_id` (the services make those idempotent: the same id gives the same answer).
Streaming calls are not retried here (WatchApplication resumes with `after_sequence`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2, status_pb2

RETRYABLE = (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE)
READ_PREFIXES = ("Get", "List", "Search", "Screen", "Check", "Verify", "Watch", "Lookup",
                 "Classify", "Explain")


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts and how long to wait between them (seconds)."""

    attempts: int = 5
    initial: float = 0.1
    maximum: float = 2.0
    multiplier: float = 2.0

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """The wait before retry number `attempt` (1-based): full jitter under the cap."""
        cap = min(self.maximum, self.initial * self.multiplier ** (attempt - 1))
        return cap * rng()


def _method_name(details: grpc.aio.ClientCallDetails) -> str:
    method = details.method
    if isinstance(method, bytes):
        method = method.decode()
    return method.rsplit("/", 1)[-1]


def safe_to_retry(code: grpc.StatusCode, method: str, request: object) -> bool:
    """Whether a call that failed with `code` may be sent again (see the module docstring)."""
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return True
    if code != grpc.StatusCode.UNAVAILABLE:
        return False
    return method.startswith(READ_PREFIXES) or bool(getattr(request, "request_id", ""))


def retry_advice(exc: grpc.aio.AioRpcError) -> float | None:
    """The server's `RetryInfo.retry_delay` in seconds, if its status details carry one."""
    for key, value in exc.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                info = error_details_pb2.RetryInfo()
                detail.Unpack(info)
                return info.retry_delay.seconds + info.retry_delay.nanos / 1e9
    return None


class RetryInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    """Retries unary calls on RESOURCE_EXHAUSTED / UNAVAILABLE where safe, with backoff."""

    def __init__(self, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], object] = asyncio.sleep) -> None:
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.retries = 0  # retries made (for tests and the demo's figures)

    async def intercept_unary_unary(self, continuation, client_call_details, request):
        method = _method_name(client_call_details)
        deadline = (time.monotonic() + client_call_details.timeout
                    if client_call_details.timeout else None)
        attempt = 1
        while True:
            call = await continuation(client_call_details, request)
            try:
                await call  # raises AioRpcError on a failed status
                return call
            except grpc.aio.AioRpcError as exc:
                if attempt >= self.policy.attempts or not safe_to_retry(exc.code(), method,
                                                                        request):
                    raise
                wait = retry_advice(exc)
                wait = self.policy.delay(attempt) if wait is None else wait
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= wait:
                        raise
                    client_call_details = client_call_details._replace(timeout=left - wait)
                await self.sleep(wait)
                self.retries += 1
                attempt += 1


def retrying_channel(address: str, policy: RetryPolicy | None = None) -> grpc.aio.Channel:
    """`stc_common.grpc.client.aio_channel` with the retry interceptor (TLS by the same rule)."""
    from stc_common.grpc.client import channel_credentials

    interceptors = [RetryInterceptor(policy)]
    creds = channel_credentials()
    if creds is None:
        return grpc.aio.insecure_channel(address, interceptors=interceptors)
    return grpc.aio.secure_channel(address, creds, interceptors=interceptors)
