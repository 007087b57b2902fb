"""Pages of duplicate review and merges."""

from django.urls import URLPattern, path

from .views import duplicates as views

urlpatterns: list[URLPattern] = [
    path("", views.duplicate_list, name="duplicate-list"),
    path("<int:pk>/", views.duplicate_detail, name="duplicate-detail"),
    path("<int:pk>/merge/", views.duplicate_merge, name="duplicate-merge"),
    path("<int:pk>/distinct/", views.duplicate_distinct, name="duplicate-distinct"),
    path("merges/", views.merge_list, name="merge-list"),
    path("merges/<int:pk>/", views.merge_detail, name="merge-detail"),
]
