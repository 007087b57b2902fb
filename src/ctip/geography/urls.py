from django.urls import path

from ctip.core.views import home

app_name = "geography"
urlpatterns = [path("", home, name="browse")]
