from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from ctip.accounts.api import urls as accounts_api
from ctip.core.api import urls as core_api
from ctip.geography.api import urls as geography_api
from ctip.interventions.api import urls as interventions_api
from ctip.registry.api import urls as registry_api
from ctip.vulnerability.api import urls as vulnerability_api

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(api_version="1"), name="schema"),
    path("", include(geography_api)),
    path("", include(registry_api)),
    path("", include(vulnerability_api)),
    path("", include(interventions_api)),
    path("", include(accounts_api)),
    path("", include(core_api)),
]
