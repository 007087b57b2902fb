"""Pages of duplicate review and merges."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
