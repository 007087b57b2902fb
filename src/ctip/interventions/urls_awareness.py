"""Pages of the interventions app: awareness events (under awareness/) and the
materials library (under materials/). Mounted by interventions/urls.py."""

from __future__ import annotations

from django.urls import URLPattern, path

from .views import awareness as events
from .views import materials

urlpatterns: list[URLPattern] = [
    path("awareness/", events.event_list, name="awareness-event-list"),
    path("awareness/new/", events.event_edit, name="awareness-event-new"),
    path("awareness/sheet/", events.sheet_find, name="awareness-sheet-find"),
    path("awareness/awareness.css", events.awareness_css, name="awareness-css"),
    path("awareness/<int:pk>/", events.event_detail, name="awareness-event-detail"),
    path("awareness/<int:pk>/edit/", events.event_edit, name="awareness-event-edit"),
    path("awareness/<int:pk>/attendance/", events.attendance_keying, name="awareness-attendance"),
    path(
        "awareness/<int:pk>/attendance/<int:person_pk>/remove/",
        events.attendance_remove,
        name="awareness-attendance-remove",
    ),
    path("awareness/<int:pk>/sheet/", events.sheet_page, name="awareness-sheet"),
    path("awareness/<int:pk>/sheet.pdf", events.sheet_pdf, name="awareness-sheet-pdf"),
    path("materials/", materials.material_list, name="material-list"),
    path("materials/new/", materials.material_edit, name="material-new"),
    path("materials/compare/", materials.material_compare, name="material-compare"),
    path("materials/<int:pk>/", materials.material_detail, name="material-detail"),
    path("materials/<int:pk>/edit/", materials.material_edit, name="material-edit"),
    path("materials/<int:pk>/review/", materials.material_review, name="material-review"),
    path("materials/<int:pk>/file/", materials.material_file, name="material-file"),
]
