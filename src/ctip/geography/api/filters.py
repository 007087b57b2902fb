from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from ctip.geography import selectors
from ctip.geography.models import Area, AreaQuerySet, Level


class AreaFilter(filters.FilterSet):
    country = filters.CharFilter(
        field_name="country", lookup_expr="iexact", help_text=_("ISO 3166-1 code, e.g. KH, VN.")
    )
    level = filters.ChoiceFilter(choices=Level.choices, help_text=_("Administrative level."))
    parent = filters.NumberFilter(field_name="parent_id", help_text=_("Id of the parent area."))
    parent_code = filters.CharFilter(
        field_name="parent__code", help_text=_("Official code of the parent area.")
    )
    code = filters.CharFilter(field_name="code", help_text=_("Official code, as published."))
    on = filters.DateFilter(
        method="filter_on",
        help_text=_("Only units valid on this day (YYYY-MM-DD); default today."),
    )
    search = filters.CharFilter(
        method="filter_search",
        help_text=_("Names or code in any script, without tones or diacritics needed."),
    )

    class Meta:
        model = Area
        fields = ["country", "level", "parent", "parent_code", "code", "on", "search"]

    def filter_on(self, queryset: QuerySet[Area], name: str, value: object) -> QuerySet[Area]:
        return queryset  # applied in filter_queryset, which also supplies the default

    def filter_search(self, queryset: QuerySet[Area], name: str, value: str) -> QuerySet[Area]:
        return queryset.filter(selectors.search_filter(value))

    def filter_queryset(self, queryset: QuerySet[Area]) -> QuerySet[Area]:
        queryset = super().filter_queryset(queryset)
        day = self.form.cleaned_data.get("on") or timezone.localdate()
        assert isinstance(queryset, AreaQuerySet)
        return queryset.valid_on(day)
