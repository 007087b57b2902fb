from django.urls import include, path

from . import views
from .views import edit

app_name = "registry"
urlpatterns = [
    path("households/", views.household_list, name="household-list"),
    path("households/new/", edit.household_create, name="household-create"),
    path("households/<int:pk>/", views.household_detail, name="household-detail"),
    path("households/<int:pk>/edit/", edit.household_edit, name="household-edit"),
    path("households/<int:household_pk>/add-person/", edit.person_add, name="person-add"),
    path("persons/", views.person_list, name="person-list"),
    path("persons/export.csv", views.person_export, name="person-export"),
    path("persons/<int:pk>/", views.person_detail, name="person-detail"),
    path("persons/<int:pk>/edit/", edit.person_edit, name="person-edit"),
    path("persons/<int:pk>/consent/", edit.consent_add, name="consent-add"),
    path("consents/<int:pk>/withdraw/", edit.consent_withdraw, name="consent-withdraw"),
    path("imports/", include("ctip.registry.urls_imports")),
    path("duplicates/", include("ctip.registry.urls_duplicates")),
]
