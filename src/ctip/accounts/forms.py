from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from ctip.core.languages import LANGUAGE_NAMES
from ctip.geography.models import Area
from ctip.geography.selectors import AreaCodeError, resolve_area_codes

from .roles import ROLE_CHOICES


class AreaCodesField(forms.CharField):
    """Official area codes separated by commas or spaces (KH, VN, 20, 2001, KH-01...)."""

    def clean(self, value: Any) -> list[Area]:
        text = super().clean(value)
        codes = [c for c in text.replace(",", " ").split() if c]
        if not codes:
            raise forms.ValidationError(_("A user needs at least one area to work in."))
        try:
            return resolve_area_codes(codes)
        except AreaCodeError as exc:
            raise forms.ValidationError(str(exc)) from None


AREA_HELP = _(
    "Official codes, separated by commas: KH or VN for a whole country, KH-20 for Svay Rieng, "
    "2001 for a district, 200103 for a commune. Prefix the country where codes overlap (VN-80)."
)


class UserCreateForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    first_name = forms.CharField(label=_("Given name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Family name"), max_length=150, required=False)
    email = forms.EmailField(
        label=_("E-mail"),
        required=False,
        help_text=_("Without a password, the user gets a link by e-mail to choose one."),
    )
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGE_NAMES)
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)
    areas = AreaCodesField(label=_("Areas"), help_text=AREA_HELP)
    password = forms.CharField(
        label=_("Password"), required=False, widget=forms.PasswordInput(render_value=False)
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("password") and not data.get("email"):
            self.add_error("email", _("Give either an e-mail address or a password."))
        return data


class AssignmentForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)
    areas = AreaCodesField(label=_("Areas"), help_text=AREA_HELP)


class UserEditForm(forms.Form):
    first_name = forms.CharField(label=_("Given name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Family name"), max_length=150, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGE_NAMES)


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Sends the reset e-mail in the account holder's language, not the requester's."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        with translation.override(getattr(context.get("user"), "language", None) or "en"):
            super().send_mail(
                subject_template_name,
                email_template_name,
                context,
                from_email,
                to_email,
                html_email_template_name,
            )
