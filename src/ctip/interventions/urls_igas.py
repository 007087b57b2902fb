"""Pages of the interventions app: income-generating activities and the migration wage
benchmarks they are compared with. Mounted by interventions/urls.py."""

from __future__ import annotations

from django.urls import URLPattern, path

from .views import igas as views

urlpatterns: list[URLPattern] = [
    path("igas/", views.activity_list, name="iga-list"),
    path("igas/new/", views.activity_create, name="iga-create"),
    path("igas/<int:pk>/", views.activity_detail, name="iga-detail"),
    path("igas/<int:pk>/edit/", views.activity_edit, name="iga-edit"),
    path("igas/benchmarks/", views.benchmark_list, name="benchmark-list"),
    path("igas/benchmarks/new/", views.benchmark_edit, name="benchmark-create"),
    path("igas/benchmarks/<int:pk>/edit/", views.benchmark_edit, name="benchmark-edit"),
]
