"""Logging set-up shared by every process crier runs: JSON lines that carry the tenant, post
and target a record is about, and never a request URL (Graph calls carry tokens in them)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

# Libraries that log request URLs: Graph API calls carry the access token in the query string,
# so their INFO lines would put a token in the log.
URL_LOGGERS = ("httpx", "httpcore")
CONTEXT_FIELDS = ("tenant_id", "post_id", "target_id")

# Immutable pairs, replaced (never mutated) as ids are bound.
_context: ContextVar[tuple[tuple[str, str], ...]] = ContextVar("crier_log_context", default=())


@contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """Every record logged inside carries these ids (an activity's tenant, post, target)."""
    token = _context.set(_merged(ids))
    try:
        yield
    finally:
        _context.reset(token)


def bind_log_context(**ids: str | None) -> None:
    """As `log_context`, for the rest of the current task: each Temporal activity runs in its
    own task, so ids bound at its start label its records and no other's."""
    _context.set(_merged(ids))


def _merged(ids: dict[str, str | None]) -> tuple[tuple[str, str], ...]:
    bound = dict(_context.get()) | {k: v for k, v in ids.items() if v}
    return tuple(bound.items())


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get():
            setattr(record, name, value)
        return True


class DropQueryStrings(logging.Filter):
    """uvicorn's access lines name the full path: an OAuth callback's query holds a one-time
    code and state, so only the path is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            args[2] = str(args[2]).split("?", 1)[0]
            record.args = tuple(args)
        return True


# A review link's token rides in its path (/ui/links/<token>): whoever reads the access log
# must not be able to open the link.
REVIEW_LINK_PATH = re.compile(r"/ui/links/[^?#\s]*")


class RedactReviewLinks(logging.Filter):
    """uvicorn's access lines name the path: a review link's token is replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            args[2] = REVIEW_LINK_PATH.sub("/ui/links/[redacted]", str(args[2]))
            record.args = tuple(args)
        return True


def silence_url_logging() -> None:
    for name in URL_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    access = logging.getLogger("uvicorn.access")
    for kind in (DropQueryStrings, RedactReviewLinks):
        if not any(isinstance(f, kind) for f in access.filters):
            access.addFilter(kind())


def json_handler() -> logging.Handler:
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(ContextFilter())
    return handler


def configure_logging() -> None:
    """INFO and up as JSON lines on stderr, one object per record."""
    root = logging.getLogger()
    root.handlers[:] = [json_handler()]
    root.setLevel(logging.INFO)
    silence_url_logging()
