"""Pages of the interventions overview: the home page (links to every component and
the figures at a glance), a person's history across components, the per-area
summary with its charts and its spreadsheet.

Views parse input and render; reads go through selectors.overview and
selectors.summary, which check scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from ctip.accounts import access
from ctip.accounts.roles import (
    MANAGE_INTERVENTIONS,
    RECORD_INTERVENTIONS,
    VIEW_AGGREGATES,
    VIEW_PERSONS,
)
from ctip.core import audit
from ctip.geography.models import Area
from ctip.geography.selectors import AreaCodeError, resolve_area_code

from .. import charts, exports
from ..iga import money
from ..models import Component
from ..selectors import overview, summary
from ..selectors.summary import ANY, BANDS, COMPONENTS, SEXES, band_label, component_label

# The component pages the home page links to: (label, candidate URL names, permission).
# A link shows only when its page exists (components are built one at a time) and the
# reader holds the permission somewhere.
HUB: list[tuple[str, Any, list[tuple[Any, tuple[str, ...], str | None]]]] = [
    (
        Component.AWARENESS,
        _("Events with their attendance and headcounts, and the materials library."),
        [
            (_("Awareness events"), ("interventions:awareness-event-list",), VIEW_PERSONS),
            (_("Record an event"), ("interventions:awareness-event-new",), RECORD_INTERVENTIONS),
            (_("Materials library"), ("interventions:material-list",), None),
            (_("Compare materials"), ("interventions:material-compare",), None),
        ],
    ),
    (
        Component.TRAINING,
        _("Courses, enrolment from targeting lists, completion and what trainees do after."),
        [
            (_("Courses"), ("interventions:course-list",), VIEW_PERSONS),
            (_("Enrolments"), ("interventions:enrolment-list",), VIEW_PERSONS),
            (_("New course"), ("interventions:course-create",), MANAGE_INTERVENTIONS),
        ],
    ),
    (
        Component.LOAN,
        _("Loan products, loans with their schedules, repayments, arrears and PAR30."),
        [
            (_("Loans"), ("interventions:loan-list",), VIEW_PERSONS),
            (_("New loan"), ("interventions:loan-start",), RECORD_INTERVENTIONS),
            (_("Portfolio by area"), ("interventions:loan-portfolio",), VIEW_AGGREGATES),
            (_("Loan products"), ("interventions:loan-product-list",), RECORD_INTERVENTIONS),
        ],
    ),
    (
        Component.SAVINGS,
        _("Savings groups: members, meetings and a ledger that balances."),
        [
            (_("Savings groups"), ("interventions:savings-list",), VIEW_PERSONS),
            (_("New savings group"), ("interventions:savings-create",), RECORD_INTERVENTIONS),
        ],
    ),
    (
        Component.IGA,
        _("Income-generating activities with their market analysis, against migrating."),
        [
            (_("Activities"), ("interventions:iga-list",), VIEW_PERSONS),
            (_("New activity"), ("interventions:iga-create",), RECORD_INTERVENTIONS),
            (_("Migration wage benchmarks"), ("interventions:benchmark-list",), VIEW_AGGREGATES),
        ],
    ),
    (
        Component.EDUCATION,
        _("Scholarships, materials, uniforms, transport, classes and school terms."),
        [
            (_("Education support"), ("interventions:education-list",), VIEW_PERSONS),
            (_("Children who dropped out"), ("interventions:education-dropouts",), VIEW_PERSONS),
            (
                _("Record support"),
                ("interventions:education-support-create",),
                RECORD_INTERVENTIONS,
            ),
        ],
    ),
    (
        Component.PARTICIPATION,
        _("Children's and youth clubs and forums, their events and recommendations."),
        [
            (_("Clubs and forums"), ("interventions:participation-group-list",), VIEW_PERSONS),
            (
                _("Participation events"),
                ("interventions:participation-event-list",),
                VIEW_PERSONS,
            ),
            (_("Recommendations"), ("interventions:recommendation-list",), VIEW_PERSONS),
        ],
    ),
    (
        "followup",
        _("Visits that fall due after training, loans, activities and support."),
        [
            (_("My visits"), ("interventions:followup-mine",), RECORD_INTERVENTIONS),
            (_("Visits due and overdue"), ("interventions:followup-list",), VIEW_PERSONS),
            (_("Due by facilitator and commune"), ("interventions:followup-due",), VIEW_PERSONS),
            (_("Follow-up plans"), ("interventions:followup-plans",), MANAGE_INTERVENTIONS),
        ],
    ),
]


def hub_sections(user: Any) -> list[dict[str, Any]]:
    sections = []
    for code, description, candidates in HUB:
        links = []
        for label, names, permission in candidates:
            if permission and not access.has_permission(user, permission):
                continue
            url = overview.first_url(names)
            if url:
                links.append({"label": label, "url": url})
        title = component_label(code) if code != "followup" else _("Follow-up")
        sections.append({"code": code, "title": title, "description": description, "links": links})
    return sections


def _can_open_overview(user: Any) -> bool:
    return access.has_permission(user, VIEW_AGGREGATES) or access.has_permission(
        user, RECORD_INTERVENTIONS
    )


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not _can_open_overview(request.user):
        raise PermissionDenied
    figures = overview.home_figures(request.user)
    par30 = [
        {
            "currency": currency,
            "text": f"<{summary.SMALL_CELL}"
            if outstanding is None
            else _pct(float(rate))
            if rate is not None
            else "—",
            "outstanding": money(outstanding, currency) if outstanding is not None else "",
        }
        for currency, rate, outstanding in figures.par30
    ]
    return render(
        request,
        "interventions/overview/home.html",
        {
            "figures": figures,
            "par30": par30,
            "sections": hub_sections(request.user),
            "summary_url": overview.maybe_url("interventions:summary")
            if figures.shows_figures
            else None,
            "small": summary.SMALL_CELL,
        },
    )


@login_required
@require_GET
def person_history(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    history = overview.person_history(request.user, pk)
    return render(
        request,
        "interventions/overview/history.html",
        {
            "history": history,
            "person": history.person,
            "groups": _history_groups(history),
            "components": [(c, component_label(c)) for c in COMPONENTS],
        },
    )


def _history_groups(history: overview.History) -> list[tuple[int, list[overview.HistoryItem]]]:
    """The timeline by year, newest first (visits due later come first)."""
    years: dict[int, list[overview.HistoryItem]] = {}
    for item in reversed(history.items):
        years.setdefault(item.on.year, []).append(item)
    return sorted(years.items(), reverse=True)


class SummaryForm(forms.Form):
    area = forms.CharField(
        label=_("Area code"),
        required=False,
        max_length=30,
        help_text=_("A country (KH, VN), province, district, commune or village code."),
    )
    # "from" and "to" (Python keywords) are added below the class.
    # Links between summaries name the area by id: a former unit's code may now
    # belong to another.
    area_id = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean_area(self) -> Area | None:
        code = self.cleaned_data.get("area", "").strip()
        if not code:
            return None
        try:
            return resolve_area_code(code)
        except AreaCodeError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("area_id") and not data.get("area"):
            area = Area.objects.filter(pk=data["area_id"]).first()
            if area is None:
                self.add_error("area", _("No such area."))
            data["area"] = area
        start, end = data.get("from"), data.get("to")
        if start and end and start > end:
            self.add_error("to", _("The end of the period is before its start."))
        return data


SummaryForm.base_fields = {
    "area": SummaryForm.base_fields["area"],
    "from": forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    ),
    "to": forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    ),
    "area_id": SummaryForm.base_fields["area_id"],
}


def parse_summary_query(actor: Any, query: Any) -> tuple[SummaryForm, dict[str, Any] | None]:
    """The form and, when valid, the summary's arguments (area, start, end). The area
    defaults to the widest one the actor sees figures for, the period to this year."""
    today = timezone.localdate()
    form = SummaryForm(query)
    if not form.is_valid():
        return form, None
    area = form.cleaned_data["area"] or summary.default_area(actor)
    if area is None:
        raise PermissionDenied
    provided = {k for k in query if k in ("from", "to")}
    start: dt.date | None = form.cleaned_data["from"]
    end: dt.date = form.cleaned_data["to"] or today
    if not provided:
        start = today.replace(month=1, day=1)
    return form, {"area": area, "start": start, "end": end}


def area_code(area: Area) -> str:
    """A code that names the area unambiguously: KH, KH-20, VN-80."""
    return area.code if area.parent_id is None else f"{area.country}-{area.code}"


def _require_overview_figures(user: Any) -> None:
    access.require(user, VIEW_AGGREGATES)


@login_required
@require_GET
def summary_page(request: HttpRequest) -> HttpResponse:
    _require_overview_figures(request.user)
    form, args = parse_summary_query(request.user, request.GET)
    result = None
    if args is not None:
        result = summary.area_summary(
            request.user, args["area"], start=args["start"], end=args["end"]
        )
        # Show what was counted: the area (by code) and the period, defaults filled in.
        form = SummaryForm(
            initial={"area": area_code(args["area"]), "from": args["start"], "to": args["end"]}
        )
    return render(
        request,
        "interventions/overview/summary.html",
        {
            "form": form,
            "summary": result,
            "tables": _summary_tables(result) if result else None,
            "reach_chart": charts.reach_by_component_and_sex(result) if result else "",
            "par30_chart": charts.par30_by_area(result) if result else "",
            "areas": summary.summary_areas(request.user),
            "small": summary.SMALL_CELL,
        },
    )


@login_required
@require_GET
def summary_export(request: HttpRequest) -> HttpResponse:
    _require_overview_figures(request.user)
    form, args = parse_summary_query(request.user, request.GET)
    if args is None:
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")
    result = summary.area_summary(request.user, args["area"], start=args["start"], end=args["end"])
    audit.record(
        actor=request.user,
        action="export",
        obj=result.area,
        object_type="interventions.summary",
        changes={
            "area": result.area.code,
            "from": result.start.isoformat() if result.start else None,
            "to": result.end.isoformat(),
            "suppressed": result.suppressed,
        },
    )
    response = HttpResponse(exports.summary_xlsx(result), content_type=exports.CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{exports.filename(result)}"'
    return response


def _n(value: int | None) -> str:
    """A count as shown: grouped digits, or "<5" when hidden as a small count."""
    return f"<{summary.SMALL_CELL}" if value is None else intcomma(value)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _reach_row(label: Any, reach: summary.Reach) -> dict[str, Any]:
    return {
        "label": label,
        "total": _n(reach.total),
        "sexes": [_n(reach.by_sex[s]) for s in SEXES],
        "bands": [_n(reach.by_band[b]) for b in BANDS],
    }


def _money_row(row: summary.AreaSummary) -> dict[str, Any]:
    t = row.training
    return {
        "area": row.area,
        "is_total": row.is_total,
        "reach": [_n(row.reach[c].total) for c in [*COMPONENTS, ANY]],
        "large_events": _n(row.large_events.total),
        "detail": [_reach_row(component_label(c), row.reach[c]) for c in [*COMPONENTS, ANY]],
        "training": {
            "enrolled": _n(t.enrolled),
            "completed": _n(t.completed),
            "dropped_out": _n(t.dropped_out),
            "completion_rate": _pct(t.completion_rate),
            "followed_6m": _n(t.followed_6m),
            "employed_6m": _n(t.employed_6m),
            "employment_rate": _pct(t.employment_rate),
        },
        "loans": [
            {
                "currency": f.currency,
                "active_loans": _n(f.active_loans),
                "outstanding": money(f.outstanding_principal, f.currency),
                "at_risk": money(f.at_risk_principal, f.currency),
                "par30": _pct(f.par30),
                "repayment_rate": _pct(f.repayment_rate),
            }
            for f in row.loans
        ],
        "igas": [
            {
                "currency": g.currency,
                "activities": _n(g.activities),
                "average_margin": money(g.average_margin, g.currency),
                "compared": _n(g.compared),
                "benchmark": money(g.average_benchmark_net, g.currency),
                "at_or_above": _n(g.at_or_above_benchmark),
                "ahead": g.average_margin is not None
                and g.average_benchmark_net is not None
                and g.average_margin >= g.average_benchmark_net,
            }
            for g in row.igas
        ],
        "follow_ups": {
            "due": _n(row.follow_ups.due),
            "overdue": _n(row.follow_ups.overdue),
            "done": _n(row.follow_ups.done_in_period),
        },
        "former": row.area.valid_to is not None,
    }


def _summary_tables(result: summary.Summary) -> dict[str, Any]:
    """Everything the page shows, as text: counts grouped, small ones as "<5"."""
    from ctip.registry.models import Sex

    sexes = dict(Sex.choices)
    return {
        "sex_columns": [sexes[s] for s in SEXES],
        "band_columns": [band_label(b) for b in BANDS],
        "components": [component_label(c) for c in [*COMPONENTS, ANY]],
        "reach": [
            _reach_row(component_label(c), result.total.reach[c]) for c in [*COMPONENTS, ANY]
        ],
        "large_events": _reach_row(
            _("Reached at large events (headcounts)"), result.total.large_events
        ),
        "any": _reach_row(component_label(ANY), result.total.reach[ANY]),
        "any_by_sex": [
            (sexes[sx], _n(result.total.reach[ANY].by_sex[sx]))
            for sx in SEXES
            if result.total.reach[ANY].by_sex[sx] != 0
        ],
        "rows": [_money_row(r) for r in result.rows],
        "total": _money_row(result.total),
        "children": [_money_row(r) for r in result.children],
        "has_loans": any(r.loans for r in result.rows),
        "has_igas": any(r.igas for r in result.rows),
    }
