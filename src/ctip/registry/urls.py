from django.urls import include, path

from . import views

app_name = "registry"
urlpatterns = [
    path("households/", views.household_list, name="household-list"),
    path("households/<int:pk>/", views.household_detail, name="household-detail"),
    path("persons/", views.person_list, name="person-list"),
    path("persons/export.csv", views.person_export, name="person-export"),
    path("persons/<int:pk>/", views.person_detail, name="person-detail"),
    path("imports/", include("ctip.registry.urls_imports")),
    path("duplicates/", include("ctip.registry.urls_duplicates")),
]
