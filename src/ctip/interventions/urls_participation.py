"""Pages of the interventions app: participation. Mounted by interventions/urls.py."""

from __future__ import annotations

from django.urls import URLPattern, path

from .views import participation as views

urlpatterns: list[URLPattern] = [
    path("participation/clubs/", views.group_list, name="participation-group-list"),
    path("participation/clubs/new/", views.group_create, name="participation-group-create"),
    path("participation/clubs/<int:pk>/", views.group_detail, name="participation-group-detail"),
    path("participation/clubs/<int:pk>/edit/", views.group_edit, name="participation-group-edit"),
    path("participation/events/", views.event_list, name="participation-event-list"),
    path("participation/events/new/", views.event_create, name="participation-event-create"),
    path(
        "participation/events/<int:pk>/",
        views.event_detail,
        name="participation-event-detail",
    ),
    path(
        "participation/events/<int:pk>/edit/",
        views.event_edit,
        name="participation-event-edit",
    ),
    path(
        "participation/events/<int:pk>/participants/",
        views.event_participants,
        name="participation-event-participants",
    ),
    path(
        "participation/participants/<int:pk>/remove/",
        views.participant_remove,
        name="participation-participant-remove",
    ),
    path(
        "participation/events/<int:pk>/recommendations/new/",
        views.recommendation_add,
        name="recommendation-add",
    ),
    path(
        "participation/recommendations/",
        views.recommendation_list,
        name="recommendation-list",
    ),
    path(
        "participation/recommendations/<int:pk>/",
        views.recommendation_edit,
        name="recommendation-edit",
    ),
]
