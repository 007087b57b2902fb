"""Pages of registry imports (upload, mapping, dry run, import)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
