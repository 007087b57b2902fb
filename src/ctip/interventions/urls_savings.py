"""Pages of the interventions app: savings groups. Mounted by interventions/urls.py."""

from __future__ import annotations

from django.urls import URLPattern, path

from .views import savings as views

urlpatterns: list[URLPattern] = [
    path("savings/", views.group_list, name="savings-list"),
    path("savings/new/", views.group_create, name="savings-create"),
    path("savings/<int:pk>/", views.group_detail, name="savings-detail"),
    path("savings/<int:pk>/edit/", views.group_edit, name="savings-edit"),
    path("savings/<int:pk>/ledger/", views.group_ledger, name="savings-ledger"),
    path("savings/<int:pk>/members/add/", views.member_add, name="savings-member-add"),
    path("savings/<int:pk>/meetings/new/", views.meeting_create, name="savings-meeting-create"),
    path("savings/<int:pk>/entries/new/", views.entry_create, name="savings-entry-create"),
    path("savings/<int:pk>/share-out/", views.share_out, name="savings-share-out"),
    path("savings/meetings/<int:pk>/", views.meeting_detail, name="savings-meeting"),
    path("savings/members/<int:pk>/", views.member_statement, name="savings-member"),
    path("savings/members/<int:pk>/leave/", views.member_leave, name="savings-member-leave"),
]
