"""Domain errors as rich gRPC statuses: google.rpc.Status with ErrorInfo and BadRequest."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from stc_common.errors import ResourceExhausted, ServiceError, ValidationFailed

DOMAIN = "stc.gov.cn"
# At most this many field violations go into the BadRequest detail (the rest are counted in
# ErrorInfo metadata `violations_total`): trailers stay far below gRPC's 16 KB limit.
MAX_VIOLATIONS = 20
_MAX_TEXT = 120  # characters of one violation's field path or reason


def to_status(err: ServiceError) -> grpc.Status:
    """The grpc.Status (with trailing google.rpc.Status details) for a domain error."""
    code = getattr(code_pb2, err.code)
    details = []
    info = any_pb2.Any()
    metadata = {str(k)[:_MAX_TEXT]: str(v)[:_MAX_TEXT] for k, v in err.metadata.items()}
    if isinstance(err, ValidationFailed) and len(err.violations) > MAX_VIOLATIONS:
        metadata["violations_total"] = str(len(err.violations))
        metadata["violations_shown"] = str(MAX_VIOLATIONS)
    info.Pack(error_details_pb2.ErrorInfo(reason=err.reason, domain=DOMAIN, metadata=metadata))
    details.append(info)
    if isinstance(err, ValidationFailed):
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field[:_MAX_TEXT], description=v.reason[:_MAX_TEXT]
                )
                for v in err.violations[:MAX_VIOLATIONS]
            ]
        )
        packed = any_pb2.Any()
        packed.Pack(bad)
        details.append(packed)
    if isinstance(err, ResourceExhausted) and err.retry_after_s:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(err.retry_after_s * 1e9))
        packed = any_pb2.Any()
        packed.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
        details.append(packed)
    message = err.message if len(err.message) <= 300 else err.message[:300] + "…"
    return rpc_status.to_status(status_pb2.Status(code=code, message=message, details=details))


def internal_status(message: str = "internal error") -> grpc.Status:
    """An INTERNAL status without details (the cause is logged, not sent)."""
    return rpc_status.to_status(status_pb2.Status(code=code_pb2.INTERNAL, message=message))


def unavailable_status(
    message: str = "a backing engine is unavailable; retry later",
) -> grpc.Status:
    """UNAVAILABLE (retryable): PostgreSQL or Kafka cannot be reached right now."""
    return rpc_status.to_status(status_pb2.Status(code=code_pb2.UNAVAILABLE, message=message))


def field_violations(exc: grpc.aio.AioRpcError | grpc.RpcError) -> list[tuple[str, str]]:
    """Client side: the (field, reason) pairs of an INVALID_ARGUMENT error, if any."""
    status = rpc_status.from_call(exc) if hasattr(exc, "trailing_metadata") else None
    out = []
    for d in status.details if status else []:
        if d.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            d.Unpack(bad)
            out += [(v.field, v.description) for v in bad.field_violations]
    return out


def error_reason(exc: grpc.aio.AioRpcError | grpc.RpcError) -> str | None:
    """Client side: the ErrorInfo reason of an error, if any."""
    status = rpc_status.from_call(exc) if hasattr(exc, "trailing_metadata") else None
    for d in status.details if status else []:
        if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            d.Unpack(info)
            return info.reason
    return None
