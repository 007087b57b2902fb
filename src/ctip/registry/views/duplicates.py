"""Pages for reviewing possible duplicates and explaining merges.

/registry/duplicates/                 open pairs both of whose persons the reviewer sees
/registry/duplicates/<id>/            the two records side by side, the reasons, the merge
                                      form and the "not the same person" button
/registry/duplicates/merges/          merges in the reader's areas
/registry/duplicates/merges/<id>/     one merge explained: who, when, why, what moved

Views parse and render; dedup's services check scope and write the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from ctip.accounts import access
from ctip.accounts.roles import MERGE_PERSONS, VIEW_PERSONS, VIEW_SENSITIVE
from ctip.core import audit
from ctip.core.views.helpers import query_without_page
from ctip.geography.selectors import AreaCodeError

from .. import dedup, selectors
from ..models import (
    CandidateStatus,
    DuplicateCandidate,
    Household,
    IdDocument,
    Person,
    PersonMerge,
    Relationship,
    SchoolStatus,
    Sex,
)

PAGE_SIZE = 50
A, B = "a", "b"


# --- showing values ------------------------------------------------------------------

_CHOICES: dict[str, Any] = {
    "relationship": Relationship,
    "sex": Sex,
    "school_status": SchoolStatus,
}


def field_label(name: str) -> str:
    return str(capfirst(getattr(Person._meta.get_field(name), "verbose_name", name)))


def show_value(name: str, value: Any, households: dict[int, Household]) -> str:
    """A stored value (as `dedup` records it) as the reader should see it."""
    if value in (None, "", []):
        return "—"
    if name == "household":
        h = households.get(value)
        return f"{h.code} · {h.village.name}" if h else f"#{value}"
    if name in _CHOICES:
        try:
            return str(_CHOICES[name](value).label)
        except ValueError:
            return str(value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if name == "id_documents":
        labels = []
        for code in value:
            try:
                labels.append(str(IdDocument(code).label))
            except ValueError:
                labels.append(str(code))
        return ", ".join(labels)
    return str(value)


def _households(ids: set[Any]) -> dict[int, Household]:
    ids = {i for i in ids if isinstance(i, int)}
    return Household.objects.select_related("village").in_bulk(ids) if ids else {}


def _sees_sensitive(actor: Any, persons: list[Person]) -> bool:
    return all(access.can_act_in(actor, VIEW_SENSITIVE, p.household.village) for p in persons)


def _link_label(key: str, sensitive_ok: bool) -> str:
    link = dedup.link_for_key(key)
    if link is None:
        return key
    if getattr(link.model, "SENSITIVE", False) and not sensitive_ok:
        return _("Sensitive records")
    return str(capfirst(link.label))


# --- the list of open pairs ----------------------------------------------------------


class CandidateFilterForm(forms.Form):
    area = forms.CharField(
        label=gettext_lazy("Area code"),
        required=False,
        max_length=30,
        help_text=gettext_lazy("Village, commune, district or province code."),
    )
    min_score = forms.FloatField(
        label=gettext_lazy("Lowest score"),
        required=False,
        min_value=0,
        max_value=1,
        help_text=gettext_lazy("From 0 to 1, for example 0.9."),
    )


@login_required
@require_GET
def duplicate_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, MERGE_PERSONS)
    form = CandidateFilterForm(request.GET or None)
    qs: QuerySet[DuplicateCandidate] | None = dedup.candidates_visible_to(request.user).filter(
        status=CandidateStatus.OPEN
    )
    if form.is_bound:
        if not form.is_valid():
            qs = None
        else:
            data = form.cleaned_data
            if data["min_score"] is not None:
                qs = qs.filter(score__gte=data["min_score"])  # type: ignore[union-attr]
            if data["area"]:
                try:
                    areas = selectors.areas_for_code(data["area"])
                except AreaCodeError as exc:
                    form.add_error("area", str(exc))
                    qs = None
                else:
                    qs = dedup.candidates_in_area(qs, areas)  # type: ignore[arg-type]
    page = None
    if qs is not None:
        qs = qs.select_related(
            "person_a__household__village", "person_b__household__village"
        ).order_by("-score", "id")
        page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
        for c in page:
            c.reason_sentences = dedup.reasons_text(c.reasons)  # type: ignore[attr-defined]
    return render(
        request,
        "registry/duplicate_list.html",
        {"form": form, "page": page, "query": query_without_page(request)},
    )


# --- one pair side by side -------------------------------------------------------------

# Rows of the comparison, in order; the fields of dedup.MERGE_FIELDS can be chosen.
COMPARED = (
    "household",
    "relationship",
    "family_name_local",
    "given_name_local",
    "family_name_latin",
    "given_name_latin",
    "sex",
    "date_of_birth",
    "dob_estimated",
    "phone",
    "external_id",
    "school_status",
    "id_documents",
    "disability",
)


@dataclass
class Row:
    name: str
    label: str
    a: str
    b: str
    differs: bool
    choosable: bool
    selected: str  # "a" or "b"


class MergeForm(forms.Form):
    keep = forms.ChoiceField(
        label=gettext_lazy("Record to keep"),
        choices=[(A, A), (B, B)],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=gettext_lazy("Why are these the same person?"),
        max_length=255,
        help_text=gettext_lazy("Said in the explanation of the merge, later."),
    )

    def __init__(self, *args: Any, choosable: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in choosable:
            self.fields[f"use_{name}"] = forms.ChoiceField(
                label=field_label(name), choices=[(A, A), (B, B)], widget=forms.RadioSelect
            )

    def choose(self) -> dict[str, str]:
        """The form's choices as dedup.person_merge wants them: kept or merged."""
        keep = self.cleaned_data["keep"]
        return {
            key.removeprefix("use_"): (dedup.KEPT if side == keep else dedup.MERGED)
            for key, side in self.cleaned_data.items()
            if key.startswith("use_")
        }


class DistinctForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("How do you know they are different people?"),
        max_length=255,
    )


def _candidate(actor: Any, pk: int) -> DuplicateCandidate:
    try:
        return (
            dedup.candidates_visible_to(actor)
            .select_related(
                "person_a__household__village",
                "person_b__household__village",
                "decided_by",
            )
            .get(pk=pk)
        )
    except DuplicateCandidate.DoesNotExist:
        raise Http404 from None


def _rows(a: Person, b: Person, form: MergeForm | None) -> list[Row]:
    households = {a.household_id: a.household, b.household_id: b.household}
    rows = []
    for name in COMPARED:
        va, vb = dedup.field_value(a, name), dedup.field_value(b, name)
        differs = va != vb
        choosable = differs and name in dedup.MERGE_FIELDS
        selected = A
        if choosable:
            default = dedup.default_choice(name, va, vb)
            selected = A if default == dedup.KEPT else B
            if form is not None and form.is_bound:
                selected = form.data.get(f"use_{name}", selected)
        rows.append(
            Row(
                name=name,
                label=field_label(name),
                a=show_value(name, va, households),
                b=show_value(name, vb, households),
                differs=differs,
                choosable=choosable,
                selected=selected,
            )
        )
    return rows


def _linked(a: Person, b: Person, sensitive_ok: bool) -> list[tuple[str, int, int]]:
    """How many records of each kind point at each person (one query per kind)."""
    out = []
    for link in dedup.person_links():
        counts = dict(
            link.model._base_manager.filter(**{f"{link.field.name}__in": [a.pk, b.pk]})
            .values_list(link.field.attname)
            .annotate(n=Count("pk"))
            .order_by()
        )
        na, nb = counts.get(a.pk, 0), counts.get(b.pk, 0)
        if na or nb:
            out.append((_link_label(link.key, sensitive_ok), na, nb))
    return out


def _choosable(a: Person, b: Person) -> list[str]:
    return [
        name
        for name in dedup.MERGE_FIELDS
        if dedup.field_value(a, name) != dedup.field_value(b, name)
    ]


def _render_pair(
    request: HttpRequest,
    candidate: DuplicateCandidate,
    merge_form: MergeForm | None = None,
    distinct_form: DistinctForm | None = None,
    status: int = 200,
) -> HttpResponse:
    a, b = candidate.person_a, candidate.person_b
    # Both records are shown in full: both reads are audited.
    for p in (a, b):
        audit.record(actor=request.user, action="read", obj=p)
    is_open = candidate.status == CandidateStatus.OPEN
    can_decide = is_open and all(
        access.can_act_in(request.user, MERGE_PERSONS, p.household.village) for p in (a, b)
    )
    if merge_form is None:
        merge_form = MergeForm(choosable=_choosable(a, b), initial={"keep": A})
    decision_reason = ""
    if not is_open:
        event = (
            audit.last_events_for(candidate, limit=1)
            if candidate.status == CandidateStatus.DISTINCT
            else []
        )
        decision_reason = event[0].changes.get("reason", "") if event else ""
    return render(
        request,
        "registry/duplicate_detail.html",
        {
            "candidate": candidate,
            "a": a,
            "b": b,
            "reasons": dedup.reasons_text(candidate.reasons),
            "rows": _rows(a, b, merge_form),
            "linked": _linked(a, b, _sees_sensitive(request.user, [a, b])),
            "merge_form": merge_form,
            "distinct_form": distinct_form or DistinctForm(),
            "can_decide": can_decide,
            "decision_reason": decision_reason,
        },
        status=status,
    )


def _merge_for(candidate: DuplicateCandidate) -> PersonMerge | None:
    return (
        PersonMerge.objects.filter(candidate=candidate).first()
        or PersonMerge.objects.filter(
            merged_id__in=[candidate.person_a_id, candidate.person_b_id]
        ).first()
    )


@login_required
@require_GET
def duplicate_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, MERGE_PERSONS)
    candidate = _candidate(request.user, pk)
    if candidate.status == CandidateStatus.MERGED:
        merge = _merge_for(candidate)
        if merge is not None:
            return redirect("registry:merge-detail", merge.pk)
    return _render_pair(request, candidate)


@login_required
@require_POST
def duplicate_merge(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, MERGE_PERSONS)
    candidate = _candidate(request.user, pk)
    a, b = candidate.person_a, candidate.person_b
    form = MergeForm(request.POST, choosable=_choosable(a, b))
    if not form.is_valid():
        return _render_pair(request, candidate, merge_form=form, status=400)
    kept, merged = (a, b) if form.cleaned_data["keep"] == A else (b, a)
    try:
        merge = dedup.person_merge(
            actor=request.user,
            kept=kept,
            merged=merged,
            candidate=candidate,
            reason=form.cleaned_data["reason"],
            choose=form.choose(),
        )
    except ValidationError as exc:
        for message in exc.messages:
            form.add_error(None, message)
        return _render_pair(request, candidate, merge_form=form, status=400)
    messages.success(
        request,
        _("Record #%(merged)s was merged into record #%(kept)s.")
        % {"merged": merged.pk, "kept": kept.pk},
    )
    return redirect("registry:merge-detail", merge.pk)


@login_required
@require_POST
def duplicate_distinct(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, MERGE_PERSONS)
    candidate = _candidate(request.user, pk)
    form = DistinctForm(request.POST)
    if form.is_valid():
        try:
            dedup.candidate_mark_distinct(
                actor=request.user, candidate=candidate, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(
                request,
                _("Recorded: #%(a)s and #%(b)s are not the same person.")
                % {"a": candidate.person_a_id, "b": candidate.person_b_id},
            )
            return redirect("registry:duplicate-list")
    return _render_pair(request, candidate, distinct_form=form, status=400)


# --- merges --------------------------------------------------------------------------


@login_required
@require_GET
def merge_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    merges = (
        dedup.merges_visible_to(request.user)
        .select_related("kept__household", "merged__household", "merged_by")
        .order_by("-merged_at", "-id")
    )
    page = Paginator(merges, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "registry/merge_list.html", {"page": page, "query": ""})


@login_required
@require_GET
def merge_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    merge = dedup.merge_get(request.user, pk)
    kept, merged = merge.kept, merge.merged
    households = _households(
        {kept.household_id, merged.household_id}
        | {v for v in merge.fields.get("household", [])[:2]}
    )
    choices = [
        {
            "label": field_label(name),
            "kept": show_value(name, values[0], households),
            "merged": show_value(name, values[1], households),
            "took_merged": values[2] == dedup.MERGED,
        }
        for name, values in merge.fields.items()
        if name in dedup.MERGE_FIELDS
    ]
    sensitive_ok = _sees_sensitive(request.user, [kept, merged])
    left = merge.moved.get(dedup.LEFT_KEY, {})
    moved = [
        (_link_label(key, sensitive_ok), n, left.get(key, 0))
        for key, n in merge.moved.items()
        if key != dedup.LEFT_KEY
    ]
    moved += [
        (_link_label(key, sensitive_ok), 0, n) for key, n in left.items() if key not in merge.moved
    ]
    candidate = merge.candidate
    return render(
        request,
        "registry/merge_detail.html",
        {
            "merge": merge,
            "kept": kept,
            "merged": merged,
            "choices": choices,
            "moved": moved,
            "candidate": candidate,
            "reasons": dedup.reasons_text(candidate.reasons) if candidate else [],
            "facts": [
                (
                    field_label(name),
                    show_value(name, dedup.field_value(kept, name), households),
                    show_value(name, dedup.field_value(merged, name), households),
                )
                for name in COMPARED
            ],
        },
    )
