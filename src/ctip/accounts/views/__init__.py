from __future__ import annotations

import io
from typing import Any

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from ctip.core import audit
from ctip.core.views.helpers import apply_errors, query_without_page

from .. import access, selectors, services
from ..forms import AssignmentForm, PasswordResetForm, TokenForm, UserCreateForm, UserEditForm
from ..models import RoleAssignment, User
from ..roles import MANAGE_USERS, ROLE_CHOICES, ROLES


def _apply_language(response: HttpResponseBase, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        user = form.get_user()
        audit.record(actor=user, action="login", obj=user)
        _apply_language(response, user.language)
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    form_class = PasswordResetForm
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password-reset-done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, also remembered as the signed-in user's preference."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        user = request.user
        if isinstance(user, User) and user.language != language:
            services.user_update(actor=user, user=user, language=language)
    return response


def otp_verify(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        for device in devices_for_user(request.user):
            if device.verify_token(form.cleaned_data["token"].strip().replace(" ", "")):
                otp_login(request, device)
                audit.record(actor=request.user, action="2fa.verify", obj=request.user)
                nxt = request.GET.get("next", "")
                if not url_has_allowed_host_and_scheme(nxt, {request.get_host()}):
                    nxt = reverse("core:home")
                return redirect(nxt)
        form.add_error("token", _("That code is not right, or has expired. Try the current one."))
    return render(request, "accounts/otp_verify.html", {"form": form})


def _qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode("utf-8")


def otp_setup(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    user = request.user
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    form = TokenForm(request.POST or None)
    if request.method == "POST" and device is not None and form.is_valid():
        if services.totp_device_confirm(
            actor=user, device=device, token=form.cleaned_data["token"]
        ):
            otp_login(request, device)
            messages.success(request, _("Two-step sign-in is on."))
            return redirect("accounts:profile")
        form.add_error("token", _("That code is not right, or has expired. Try the current one."))
    if device is None:
        device = services.totp_device_start(actor=user, user=user)
    import base64

    secret = base64.b32encode(device.bin_key).decode("ascii")
    return render(
        request,
        "accounts/otp_setup.html",
        {"form": form, "qr": _qr_svg(device.config_url), "secret": secret},
    )


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    form = UserEditForm(
        request.POST or None,
        initial={
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "language": user.language,
        },
    )
    if request.method == "POST" and form.is_valid():
        services.user_update(actor=user, user=user, **form.cleaned_data)
        messages.success(request, _("Your details are saved."))
        response = redirect("accounts:profile")
        _apply_language(response, user.language)
        return response
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "has_2fa": TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
            "assignments": user.assignments.select_related("area"),
        },
    )


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, MANAGE_USERS)
    q = request.GET.get("q", "").strip()
    role = request.GET.get("role", "")
    users = selectors.users_visible_to(request.user).order_by("username")
    if q:
        users = users.filter(
            Q(username__icontains=q) | Q(first_name__icontains=q) | Q(last_name__icontains=q)
        )
    if role:
        users = users.filter(assignments__role=role).distinct()
    users = users.prefetch_related(
        Prefetch("assignments", queryset=RoleAssignment.objects.select_related("area"))
    )
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/user_list.html",
        {
            "page": page,
            "q": q,
            "role": role,
            "roles": ROLE_CHOICES,
            "query": query_without_page(request),
        },
    )


@login_required
def user_create(request: HttpRequest) -> HttpResponse:
    access.require(request.user, MANAGE_USERS)
    form = UserCreateForm(request.POST or None, initial={"language": request.LANGUAGE_CODE})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.user_create(
                actor=request.user,
                username=data["username"],
                role=data["role"],
                areas=data["areas"],
                password=data["password"] or None,
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                language=data["language"],
                site_url=request.build_absolute_uri("/"),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("User %(user)s created.") % {"user": user.username})
            return redirect("accounts:user-detail", pk=user.pk)
    return render(request, "accounts/user_form.html", {"form": form})


@login_required
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, MANAGE_USERS)
    user = get_object_or_404(selectors.users_visible_to(request.user), pk=pk)
    form = AssignmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.roles_assign(
                actor=request.user,
                user=user,
                role=form.cleaned_data["role"],
                areas=form.cleaned_data["areas"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Role given."))
            return redirect("accounts:user-detail", pk=user.pk)
    events = audit.AuditEvent.objects.filter(object_type="accounts.user", object_id=str(user.pk))
    return render(
        request,
        "accounts/user_detail.html",
        {
            "subject": user,
            "form": form,
            "assignments": user.assignments.select_related("area"),
            "roles": ROLES,
            "has_2fa": TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
            "events": events[:20],
        },
    )


@login_required
@require_POST
def user_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    access.require(request.user, MANAGE_USERS)
    user = get_object_or_404(selectors.users_visible_to(request.user), pk=pk)
    try:
        if action == "deactivate":
            services.user_update(actor=request.user, user=user, is_active=False)
            messages.success(request, _("%(user)s can no longer sign in.") % {"user": user})
        elif action == "activate":
            services.user_update(actor=request.user, user=user, is_active=True)
            messages.success(request, _("%(user)s can sign in again.") % {"user": user})
        elif action == "reset-2fa":
            services.totp_reset(actor=request.user, user=user)
            messages.success(request, _("Two-step sign-in removed for %(user)s.") % {"user": user})
        elif action == "revoke":
            assignment = get_object_or_404(
                RoleAssignment.objects.select_related("area", "user"),
                pk=request.POST.get("assignment"),
                user=user,
            )
            services.role_revoke(actor=request.user, assignment=assignment)
            messages.success(request, _("Role removed."))
        else:
            return HttpResponse(status=404)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("accounts:user-detail", pk=user.pk)
