from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django_otp import user_has_device

from . import access

EXEMPT_PREFIXES = (
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/2fa/",
    "/accounts/language/",
    "/accounts/password-reset/",
    "/static/",
    "/i18n/",
    "/health/",
)


class RequireSecondFactorMiddleware:
    """A user with an authenticator must use it before anything else; where the
    settings require it for their role, they must set one up first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(EXEMPT_PREFIXES)
            and not user.is_verified()  # type: ignore[attr-defined]
        ):
            if user_has_device(user):
                target = "accounts:otp-verify"
            elif access.role_slugs(user) & set(settings.CTIP_REQUIRE_2FA_ROLES):
                target = "accounts:otp-setup"
            else:
                return self.get_response(request)
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"detail": _("Confirm your second factor in the web app first.")}, status=403
                )
            return redirect(target)
        return self.get_response(request)
