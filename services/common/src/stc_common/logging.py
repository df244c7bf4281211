"""structlog set-up: JSON lines on stdout with request and event ids from contextvars.

Bind ids with `structlog.contextvars.bind_contextvars(request_id=..., event_id=...)`; the
gRPC interceptor and the consumer loop do so for every request and every event.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

# No log line grows past a few kilobytes whatever a client sent (issue 10): every value is
# cut to this many characters (tracebacks to MAX_TRACEBACK), with the original length noted.
MAX_VALUE = 2000
MAX_TRACEBACK = 16000


def cap_values(_logger, _name, event_dict: dict) -> dict:
    """structlog processor: cut over-long values (a 7 MB validation message, a huge repr)."""
    for key, value in event_dict.items():
        limit = MAX_TRACEBACK if key in ("exception", "stack") else MAX_VALUE
        if not isinstance(value, str | int | float | bool | type(None)):
            value = repr(value) if len(repr(value)) > limit else value
        if isinstance(value, str) and len(value) > limit:
            event_dict[key] = f"{value[:limit]}… [{len(value)} characters, cut]"
        else:
            event_dict[key] = value
    return event_dict


def configure_logging(service: str, level: str = "INFO", json: bool = True) -> None:
    """Configure structlog and the standard library logger for one service process."""
    lvl = getattr(logging, level.upper(), logging.INFO)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        cap_values,
    ]
    renderer = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
    # libraries (aiokafka, asyncio) log through the standard library: route them to stderr
    logging.basicConfig(
        level=max(lvl, logging.WARNING),
        stream=sys.stderr,
        format='{"level":"%(levelname)s","logger":"%(name)s","event":"%(message)s"}',
    )


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A structlog logger; `name` goes into the `component` field."""
    # stays a lazy proxy: module-level loggers pick up the configuration made later in main()
    return structlog.get_logger(component=name) if name else structlog.get_logger()
