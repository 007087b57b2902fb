"""Labels for codes shown on pages, in the reader's language."""

from __future__ import annotations

from django import template
from django.apps import apps
from django.utils.translation import gettext_lazy as _

register = template.Library()

ACTION_LABELS = {
    "create": _("created"),
    "update": _("changed"),
    "delete": _("deleted"),
    "read": _("viewed"),
    "export": _("exported"),
    "login": _("signed in"),
    "role.assign": _("role given"),
    "role.revoke": _("role removed"),
    "password.set": _("password set"),
    "token.issue": _("API token issued"),
    "2fa.enable": _("two-step sign-in turned on"),
    "2fa.verify": _("two-step sign-in confirmed"),
    "2fa.reset": _("two-step sign-in removed"),
    "geography.load": _("geography loaded"),
    "demo.generate": _("demo data generated"),
    "demo.assessments": _("demo assessments generated"),
    "import": _("imported"),
    "consent.give": _("consent recorded"),
    "consent.withdraw": _("consent withdrawn"),
    "merge": _("records merged"),
    "duplicate.find": _("duplicates searched"),
    "targeting.defaults": _("default assistance types loaded"),
    "duplicate.distinct": _("marked as different persons"),
    "instrument.publish": _("instrument version published"),
    "targeting.build": _("targeting list built"),
    "targeting.decide": _("committee decision recorded"),
    "attendance.record": _("attendance recorded"),
    "attendance.remove": _("attendance removed"),
    "headcounts.set": _("headcounts recorded"),
    "savings.share_out": _("savings shared out"),
    "loan.write_off": _("loan written off"),
    "demo.interventions": _("demo interventions generated"),
}

CHANNEL_LABELS = {"web": _("web"), "api": _("API"), "cli": _("command line")}


@register.filter
def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


@register.filter
def channel_label(channel: str) -> str:
    return str(CHANNEL_LABELS.get(channel, channel))


@register.filter
def object_type_label(object_type: str) -> str:
    app_label, _sep, model_name = (object_type or "").partition(".")
    try:
        return str(apps.get_model(app_label, model_name)._meta.verbose_name)
    except (LookupError, ValueError):
        return object_type
