from __future__ import annotations

import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from . import context


def client_ip(request: HttpRequest) -> str | None:
    # Behind the production proxy the first X-Forwarded-For hop is the client.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    """Gives each request an id (echoed in X-Request-ID) that audit events carry."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if incoming.isalnum() and len(incoming) <= 64 else uuid.uuid4().hex
        channel = "api" if request.path.startswith("/api/") else "web"
        ctx = context.RequestContext(request_id=request_id, ip=client_ip(request), channel=channel)
        with context.bind(ctx):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
