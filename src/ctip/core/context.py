"""Who is acting, from where: set per request (or per command) and read by the audit trail."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    ip: str | None = None
    channel: str = "web"  # web, api, cli


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "ctip_request_context", default=None
)


def current() -> RequestContext:
    ctx = _current.get()
    if ctx is None:
        return RequestContext(request_id=uuid.uuid4().hex, channel="cli")
    return ctx


@contextmanager
def bind(ctx: RequestContext) -> Iterator[RequestContext]:
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
