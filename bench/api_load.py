"""Benchmarks: the registry list API under load.

Ten clients at once against a real threaded WSGI server on this database, as a
province officer with a token: the person list with filters (area, sex, age band,
a name) against the same endpoint with no filters, each as requests per second."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from bench.figure import Figure

CLIENTS = 10
REQUESTS_PER_CLIENT = int(os.environ.get("BENCH_API_REQUESTS", "30"))


def _serve() -> tuple[Any, int]:
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet, allow_reuse_address=True)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def _load(port: int, token: str, path: str) -> float:
    """Requests per second with CLIENTS threads each sending REQUESTS_PER_CLIENT requests."""
    errors: list[str] = []

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Authorization": f"Token {token}", "Host": "127.0.0.1"}
        for _ in range(REQUESTS_PER_CLIENT):
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                errors.append(f"{response.status} {body[:200]!r}")
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{path}: {errors[0]}")
    return CLIENTS * REQUESTS_PER_CLIENT / elapsed


def bench_person_list_under_load() -> Figure:
    from django.db import connections
    from rest_framework.authtoken.models import Token

    from ctip.accounts.models import RoleAssignment, User
    from ctip.geography.selectors import resolve_area_code
    from ctip.registry import demo

    demo.generate(size=os.environ.get("BENCH_DEMO_SIZE", "large"), seed=1)
    province = resolve_area_code("KH-20")
    user, _ = User.objects.get_or_create(username="bench-api")
    RoleAssignment.objects.get_or_create(user=user, role="provincial_officer", area=province)
    token = Token.objects.get_or_create(user=user)[0].key
    server, port = _serve()
    try:
        filtered = "/api/v1/persons/?village=KH-20&sex=female&age_band=15-17&q=s&page_size=50"
        plain = "/api/v1/persons/?page_size=50"
        # Both answer with rows (an empty filter result would flatter the figure).
        for path in (filtered, plain):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            conn.request("GET", path, headers={"Authorization": f"Token {token}"})
            body = json.loads(conn.getresponse().read())
            assert body["count"] > 0 and len(body["results"]) == min(50, body["count"])
            conn.close()
        ours = _load(port, token, filtered)
        baseline = _load(port, token, plain)
    finally:
        server.shutdown()
        server.server_close()
        connections.close_all()
    return Figure("persons_api_filtered_10_clients", ours, baseline, unit="req/s")


BENCHES: list[Callable[[], Any]] = [bench_person_list_under_load]
