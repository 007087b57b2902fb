from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("ctip.core.urls")),
    path("accounts/", include("ctip.accounts.urls")),
    path("areas/", include("ctip.geography.urls")),
    path("registry/", include("ctip.registry.urls")),
    path("", include("ctip.vulnerability.urls")),
    path("", include("ctip.interventions.urls")),
    path("api/v1/", include("config.api_urls")),
]

handler400 = "ctip.core.views.bad_request"
handler403 = "ctip.core.views.permission_denied"
handler404 = "ctip.core.views.page_not_found"
handler500 = "ctip.core.views.server_error"
