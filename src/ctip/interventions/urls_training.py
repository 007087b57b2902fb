"""Pages of the interventions app: training. Mounted by interventions/urls.py."""

from __future__ import annotations

from django.urls import URLPattern, path

from .views import training as views

urlpatterns: list[URLPattern] = [
    path("training/courses/", views.course_list, name="course-list"),
    path("training/courses/new/", views.course_create, name="course-create"),
    path("training/courses/<int:pk>/", views.course_detail, name="course-detail"),
    path("training/courses/<int:pk>/edit/", views.course_edit, name="course-edit"),
    path("training/courses/<int:pk>/outcomes/", views.course_outcomes, name="course-outcomes"),
    path(
        "training/courses/<int:pk>/enrol/",
        views.course_enrol_from_list,
        name="course-enrol-from-list",
    ),
    path(
        "training/courses/<int:pk>/enrol/person/",
        views.course_enrol_person,
        name="course-enrol-person",
    ),
    path("training/courses/<int:pk>/sessions/new/", views.session_add, name="session-add"),
    path(
        "training/sessions/<int:pk>/attendance/",
        views.session_attendance,
        name="session-attendance",
    ),
    path("training/enrolments/", views.enrolment_list, name="enrolment-list"),
    path(
        "training/enrolments/<int:pk>/complete/",
        views.enrolment_complete,
        name="enrolment-complete",
    ),
    path("training/enrolments/<int:pk>/drop/", views.enrolment_drop, name="enrolment-drop"),
]
