"""Pages of the interventions app: overview. Mounted by interventions/urls.py."""

from __future__ import annotations

from django.urls import URLPattern, path

from .views import overview as views

urlpatterns: list[URLPattern] = [
    path("interventions/", views.home, name="home"),
    path(
        "interventions/persons/<int:pk>/history/",
        views.person_history,
        name="person-history",
    ),
    path("interventions/summary/", views.summary_page, name="summary"),
    path("interventions/summary/export.xlsx", views.summary_export, name="summary-export"),
]
