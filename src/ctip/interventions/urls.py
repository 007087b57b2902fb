"""Pages of the interventions app, one module per component, under one namespace."""

from __future__ import annotations

from . import (
    urls_awareness,
    urls_education,
    urls_followups,
    urls_igas,
    urls_loans,
    urls_overview,
    urls_participation,
    urls_savings,
    urls_training,
)

app_name = "interventions"

urlpatterns = [
    *urls_overview.urlpatterns,
    *urls_awareness.urlpatterns,
    *urls_training.urlpatterns,
    *urls_education.urlpatterns,
    *urls_participation.urlpatterns,
    *urls_loans.urlpatterns,
    *urls_savings.urlpatterns,
    *urls_igas.urlpatterns,
    *urls_followups.urlpatterns,
]
