"""Pages of the interventions app: follow-up visits and plans. Mounted by
interventions/urls.py."""

from __future__ import annotations

from django.urls import URLPattern, path

from .views import followups as views

urlpatterns: list[URLPattern] = [
    path("follow-ups/", views.follow_up_list, name="followup-list"),
    path("follow-ups/mine/", views.my_follow_ups, name="followup-mine"),
    path("follow-ups/due/", views.due_summary, name="followup-due"),
    path("follow-ups/plans/", views.plan_list, name="followup-plans"),
    path("follow-ups/plans/<int:pk>/", views.plan_edit, name="followup-plan-edit"),
    path("follow-ups/<int:pk>/", views.follow_up_detail, name="followup-detail"),
    path("follow-ups/<int:pk>/visit/", views.record_visit, name="followup-visit"),
    path("follow-ups/<int:pk>/missed/", views.mark_missed, name="followup-missed"),
    path("follow-ups/<int:pk>/cancel/", views.cancel, name="followup-cancel"),
    path("follow-ups/<int:pk>/reassign/", views.reassign, name="followup-reassign"),
]
