"""Writes to users, roles and areas. Each is one transaction with an audit event."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from ctip.core import audit
from ctip.geography.models import Area

from . import access
from .models import RoleAssignment, User
from .roles import MANAGE_USERS, ROLES

USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-@")


def _user_snapshot(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "language": user.language,
        "is_active": user.is_active,
    }


def _check_grant(actor: Any, role: str, area: Area) -> None:
    if role not in ROLES:
        raise ValidationError(
            {
                "role": _("Unknown role %(role)s. Roles: %(roles)s.")
                % {"role": role, "roles": ", ".join(ROLES)}
            }
        )
    if not access.can_act_in(actor, MANAGE_USERS, area):
        raise PermissionDenied(_("You cannot grant roles in %(area)s.") % {"area": area})


@transaction.atomic
def user_create(
    *,
    actor: Any,
    username: str,
    role: str,
    areas: Sequence[Area],
    password: str | None = None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    language: str = "en",
    site_url: str = "",
) -> User:
    """A new user holding `role` in each of `areas`. Without a password, one is never
    usable until the user sets theirs through the e-mailed link."""
    access.require(actor, MANAGE_USERS)
    username = (username or "").strip().lower()
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = _("Give a username.")
    elif not set(username) <= USERNAME_CHARS:
        errors["username"] = _("Usernames use lower-case Latin letters, digits and . _ - @ only.")
    elif User.objects.filter(username=username).exists():
        errors["username"] = _("The username %(username)s is taken.") % {"username": username}
    if not areas:
        errors["areas"] = _("A user needs at least one area to work in.")
    if language not in dict(settings.LANGUAGES):
        errors["language"] = _("Unknown language %(language)s.") % {"language": language}
    if password:
        try:
            validate_password(password, User(username=username, email=email))
        except ValidationError as exc:
            errors["password"] = " ".join(exc.messages)
    if errors:
        raise ValidationError(errors)
    for area in areas:
        _check_grant(actor, role, area)
    user = User(
        username=username,
        email=email.strip(),
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        language=language,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    granted_by = actor if isinstance(actor, User) else None
    RoleAssignment.objects.bulk_create(
        [RoleAssignment(user=user, role=role, area=a, granted_by=granted_by) for a in areas]
    )
    changes = audit.diff(None, _user_snapshot(user))
    changes["assignments"] = {
        "before": None,
        "after": [f"{role}@{a.country}-{a.code}" for a in areas],
    }
    audit.record(actor=actor, action="create", obj=user, changes=changes)
    if user.email and not password:
        transaction.on_commit(lambda: send_invitation(user, site_url=site_url))
    return user


def send_invitation(user: User, *, site_url: str = "") -> None:
    """E-mail, in the user's own language, a link to choose a password."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("accounts:password-reset-confirm", kwargs={"uidb64": uid, "token": token})
    with translation.override(user.language):
        context = {"user": user, "link": f"{site_url.rstrip('/')}{path}"}
        subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
        body = render_to_string("accounts/email/invitation.txt", context)
    send_mail(subject, body, None, [user.email])


@transaction.atomic
def role_assign(*, actor: Any, user: User, role: str, area: Area) -> RoleAssignment:
    access.require(actor, MANAGE_USERS)
    _check_grant(actor, role, area)
    if RoleAssignment.objects.filter(user=user, role=role, area=area).exists():
        raise ValidationError(
            {
                "area": _("%(user)s already holds this role in %(area)s.")
                % {"user": user, "area": area}
            }
        )
    assignment = RoleAssignment.objects.create(
        user=user, role=role, area=area, granted_by=actor if isinstance(actor, User) else None
    )
    audit.record(
        actor=actor,
        action="role.assign",
        obj=user,
        changes={"assignment": {"before": None, "after": f"{role}@{area.country}-{area.code}"}},
    )
    access.forget(user)
    return assignment


@transaction.atomic
def roles_assign(
    *, actor: Any, user: User, role: str, areas: Sequence[Area]
) -> list[RoleAssignment]:
    """`role` in each of `areas`, all or none."""
    return [role_assign(actor=actor, user=user, role=role, area=area) for area in areas]


@transaction.atomic
def role_revoke(*, actor: Any, assignment: RoleAssignment) -> None:
    access.require(actor, MANAGE_USERS)
    if not access.can_act_in(actor, MANAGE_USERS, assignment.area):
        raise PermissionDenied
    user = assignment.user
    label = f"{assignment.role}@{assignment.area.country}-{assignment.area.code}"
    assignment.delete()
    audit.record(
        actor=actor,
        action="role.revoke",
        obj=user,
        changes={"assignment": {"before": label, "after": None}},
    )
    access.forget(user)


def _require_manages(actor: Any, user: User) -> None:
    """An administrator manages users whose every area lies inside their own scope."""
    access.require(actor, MANAGE_USERS)
    for area in Area.objects.filter(pk__in=user.assignments.values("area_id")):
        if not access.can_act_in(actor, MANAGE_USERS, area):
            raise PermissionDenied


@transaction.atomic
def user_update(
    *,
    actor: Any,
    user: User,
    first_name: str | None = None,
    last_name: str | None = None,
    email: str | None = None,
    language: str | None = None,
    is_active: bool | None = None,
) -> User:
    if actor != user or is_active is not None:
        _require_manages(actor, user)
    if is_active is False and actor == user:
        raise ValidationError({"is_active": _("You cannot deactivate your own account.")})
    if language is not None and language not in dict(settings.LANGUAGES):
        raise ValidationError(
            {"language": _("Unknown language %(language)s.") % {"language": language}}
        )
    before = _user_snapshot(user)
    for field, value in (
        ("first_name", first_name),
        ("last_name", last_name),
        ("email", email),
        ("language", language),
        ("is_active", is_active),
    ):
        if value is not None:
            setattr(user, field, value.strip() if isinstance(value, str) else value)
    changes = audit.diff(before, _user_snapshot(user))
    if changes:
        user.save()
        audit.record(actor=actor, action="update", obj=user, changes=changes)
        if is_active is False:
            Token.objects.filter(user=user).delete()
    return user


@transaction.atomic
def user_set_password(*, actor: Any, user: User, password: str) -> None:
    if actor != user:
        _require_manages(actor, user)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    user.set_password(password)
    user.save(update_fields=["password"])
    audit.record(
        actor=actor,
        action="password.set",
        obj=user,
        changes={"password": {"before": audit.MASK, "after": audit.MASK}},
    )


@transaction.atomic
def token_issue(*, actor: Any, user: User) -> Token:
    """A new API token for `user`, replacing any earlier one."""
    if actor != user:
        _require_manages(actor, user)
    if not user.is_active:
        raise ValidationError({"user": _("%(user)s is deactivated.") % {"user": user}})
    if not user.assignments.exists():
        raise ValidationError({"user": _("%(user)s has no role in any area yet.") % {"user": user}})
    Token.objects.filter(user=user).delete()
    token = Token.objects.create(user=user)
    audit.record(actor=actor, action="token.issue", obj=user)
    return token


@transaction.atomic
def totp_device_start(*, actor: Any, user: User) -> TOTPDevice:
    """An unconfirmed authenticator for `user`; it counts once a code from it is verified."""
    if actor != user:
        raise PermissionDenied
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)


@transaction.atomic
def totp_device_confirm(*, actor: Any, device: TOTPDevice, token: str) -> bool:
    if actor != device.user:
        raise PermissionDenied
    if not device.verify_token(token.strip().replace(" ", "")):
        return False
    TOTPDevice.objects.filter(user=device.user, confirmed=True).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit.record(actor=actor, action="2fa.enable", obj=device.user)
    return True


@transaction.atomic
def totp_reset(*, actor: Any, user: User) -> None:
    """Remove a user's authenticator (lost phone); they set up a new one at next sign-in."""
    _require_manages(actor, user)
    TOTPDevice.objects.filter(user=user).delete()
    audit.record(actor=actor, action="2fa.reset", obj=user)


def random_password() -> str:
    return secrets.token_urlsafe(12)
