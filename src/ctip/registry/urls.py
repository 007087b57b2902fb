from django.urls import path

from ctip.core.views import home

app_name = "registry"
urlpatterns = [path("households/", home, name="household-list"), path("persons/", home, name="person-list")]
