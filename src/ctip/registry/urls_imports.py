"""Pages of registry imports (upload, mapping, dry run, import)."""

from django.urls import URLPattern, path

from .views import imports

urlpatterns: list[URLPattern] = [
    path("", imports.import_list, name="import-list"),
    path("new/", imports.import_upload, name="import-upload"),
    path("<int:pk>/", imports.import_detail, name="import-detail"),
    path("<int:pk>/columns/", imports.import_mapping, name="import-mapping"),
    path("<int:pk>/import/", imports.import_run, name="import-run"),
]
