"""Pages of the interventions app: igas. Mounted by interventions/urls.py."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
