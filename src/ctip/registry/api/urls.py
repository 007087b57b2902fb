from rest_framework.routers import SimpleRouter

from .views import ConsentViewSet, HouseholdViewSet, PersonViewSet

router = SimpleRouter()
router.register("households", HouseholdViewSet, basename="household")
router.register("persons", PersonViewSet, basename="person")
router.register("consents", ConsentViewSet, basename="consent")

urlpatterns = router.urls
