"""Pages of the interventions app: participation. Mounted by interventions/urls.py."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
