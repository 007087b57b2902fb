"""Charts of the per-area summary as Vega-Lite specs (altair) rendered to SVG on the
server (vl-convert): no JavaScript, the same chart on the page and in exports.

Every chart is drawn from figures a table next to it also gives (for screen
readers and for reading exact values); cells hidden as small counts are left out.
"""

from __future__ import annotations

import re
from typing import Any

import altair as alt
from django.utils.translation import gettext as _

from .selectors.summary import COMPONENTS, SEXES, Summary, component_label

FONT = 'system-ui, "Noto Sans", "Noto Sans Khmer", "Khmer OS System", sans-serif'
# The site's accent and colours that stay apart for the colour-blind (Okabe-Ito).
SEX_COLOURS = ["#0b5d5b", "#e69f00", "#56b4e9", "#999999"]
# Bars this wide, labels above them: the chart stays narrow enough for a phone.
WIDTH = 360
HEADER = alt.Header(
    title=None, labelAngle=0, labelAlign="left", labelOrient="top", labelAnchor="start",
    labelFontSize=12, labelPadding=-10, labelBaseline="bottom",
)  # fmt: skip


def _render(chart: alt.TopLevelMixin, title: str) -> str:
    """The chart as an SVG element that scales to its container, labelled for screen
    readers (who also get the same figures as a table)."""
    import vl_convert

    spec: dict[str, Any] = chart.configure(font=FONT).configure_view(stroke=None).to_dict()
    svg: str = vl_convert.vegalite_to_svg(spec)
    # Scale to the page: keep the viewBox, drop the fixed size.
    svg = re.sub(
        r'^<svg([^>]*?) width="[\d.]+" height="[\d.]+"',
        r'<svg\1 width="100%" preserveAspectRatio="xMinYMin meet" role="img"',
        svg,
        count=1,
    )
    label = title.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return svg.replace("<svg", f'<svg aria-label="{label}"', 1)


def reach_by_component_and_sex(summary: Summary) -> str:
    """Horizontal stacked bars: persons reached per component, coloured by sex."""
    sex_labels = _sex_labels()
    values = []
    for code in COMPONENTS:
        reach = summary.total.reach[code]
        for sex in SEXES:
            n = reach.by_sex.get(sex)
            if n:
                values.append(
                    {"component": component_label(code), "sex": sex_labels[sex], "persons": n}
                )
    if not values:
        return ""
    title = _("Persons reached by component and sex")
    chart = (
        alt.Chart(alt.Data(values=values))
        .mark_bar()
        .encode(
            x=alt.X("sum(persons):Q", title=_("Persons")),
            color=alt.Color(
                "sex:N",
                title=_("Sex"),
                scale=alt.Scale(domain=[sex_labels[s] for s in SEXES], range=SEX_COLOURS),
                legend=alt.Legend(orient="bottom", columns=2),
            ),
            order=alt.Order("sex:N"),
        )
        .properties(width=WIDTH, height=16)
        .facet(
            row=alt.Row(
                "component:N", header=HEADER, sort=[component_label(c) for c in COMPONENTS]
            ),
            spacing=14,
        )
    )
    return _render(chart, title)


def par30_by_area(summary: Summary) -> str:
    """Bars of PAR30 (%) per area and currency, the area's total first."""
    values: list[dict[str, Any]] = []
    names: list[str] = []
    for row in summary.rows:
        for f in row.loans:
            if f.par30 is None:
                continue
            name = _("%(area)s (all)") % {"area": row.area.name} if row.is_total else row.area.name
            values.append({"area": name, "currency": f.currency, "par30": round(f.par30 * 100, 2)})
    if not values:
        return ""
    top = max(10.0, max(v["par30"] for v in values))
    title = _("Portfolio at risk over 30 days (PAR30) by area")
    chart = (
        alt.Chart(alt.Data(values=values))
        .mark_bar()
        .encode(
            x=alt.X("par30:Q", title=_("PAR30 (%)"), scale=alt.Scale(domain=[0, top])),
            y=alt.Y("currency:N", title=None),
            color=alt.Color("currency:N", legend=None),
        )
        .properties(width=WIDTH)
        .facet(row=alt.Row("area:N", header=HEADER, sort=names), spacing=14)
    )
    return _render(chart, title)


def _sex_labels() -> dict[str, str]:
    from ctip.registry.models import Sex

    return {value: str(label) for value, label in Sex.choices}
