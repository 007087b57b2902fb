"""Every URL ctip serves, tried anonymously and by a donor: none leaks person-level data.

The list comes from the URL resolver itself, so a new page or endpoint is covered
the day it is added; a public one must be added to PUBLIC on purpose.
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from ctip.core.models import AuditEvent
from tests.helpers import make_user

pytestmark = pytest.mark.django_db

# Served to anyone: sign-in and password reset, the language switch, health, the schema.
PUBLIC = {
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/language/",
    "/accounts/password-reset/",
    "/accounts/password-reset/sent/",
    "/accounts/password-reset/done/",
    "/accounts/password-reset/x/y/",
    "/accounts/2fa/verify/",
    "/accounts/2fa/setup/",
    "/i18n/setlang/",
    "/health/",
    "/api/v1/schema/",
}


def _walk(patterns: list, prefix: str = "") -> list[str]:
    out: list[str] = []
    for p in patterns:
        route = str(p.pattern)
        if isinstance(p, URLResolver):
            out += _walk(p.url_patterns, prefix + route)
        elif isinstance(p, URLPattern):
            out.append(prefix + route)
    return out


def _concrete(route: str) -> str:
    route = route.replace("^", "").replace("$", "").replace("\\.", ".")
    route = re.sub(r"\(\?P<format>[^)]*\)", "", route)
    route = re.sub(r"<int:\w+>|\(\?P<pk>[^)]*\)", "1", route)
    route = re.sub(
        r"<slug:\w+>|<str:\w+>|<\w+>|\(\?P<\w+>[^)]*\)",
        "x",
        route,
    )
    if "password-reset/x/x" in route:
        route = route.replace("password-reset/x/x", "password-reset/x/y")
    return "/" + route


def all_urls() -> list[str]:
    urls = sorted({_concrete(r) for r in _walk(get_resolver().url_patterns)})
    return [u for u in urls if "(" not in u and "[" not in u]


def test_the_url_list_is_complete():
    urls = all_urls()
    for expected in ("/", "/areas/", "/registry/persons/", "/api/v1/persons/", "/audit/"):
        assert expected in urls


@pytest.mark.parametrize("url", all_urls())
def test_anonymous_gets_nothing_but_public_pages(client, url):
    events = AuditEvent.objects.count()
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        if url in PUBLIC:
            assert response.status_code < 500
            continue
        if url.startswith("/api/"):
            assert response.status_code in (401, 403), (method, url, response.status_code)
        else:
            assert response.status_code in (302, 403, 405), (method, url, response.status_code)
            if response.status_code == 302:
                assert response.url.startswith("/accounts/login/"), (method, url)
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    "url",
    [
        u
        for u in all_urls()
        if u.startswith(
            (
                "/registry/",
                "/api/v1/persons",
                "/api/v1/households",
                "/audit",
                "/api/v1/audit",
                "/accounts/users",
            )
        )
    ],
)
def test_a_donor_never_reaches_person_level_data(client, url):
    client.force_login(make_user("donor", "donor", "KH", "VN"))
    response = client.get(url)
    assert response.status_code in (403, 404, 405), (url, response.status_code)
