"""Pages of the interventions app: education. Mounted by interventions/urls.py."""

from __future__ import annotations

from django.urls import URLPattern, path

from .views import education as views

urlpatterns: list[URLPattern] = [
    path("education/", views.education_list, name="education-list"),
    path("education/dropouts/", views.education_dropouts, name="education-dropouts"),
    path("education/children/<int:person_pk>/", views.education_child, name="education-child"),
    path(
        "education/children/<int:person_pk>/terms/",
        views.term_record,
        name="education-term",
    ),
    path("education/support/new/", views.support_create, name="education-support-create"),
    path("education/support/<int:pk>/", views.support_detail, name="education-support-detail"),
    path("education/support/<int:pk>/edit/", views.support_edit, name="education-support-edit"),
]
