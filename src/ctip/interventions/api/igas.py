"""API of the interventions app: igas. api/urls.py mounts this router."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

router = SimpleRouter()
