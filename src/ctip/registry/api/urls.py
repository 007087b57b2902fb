from rest_framework.routers import SimpleRouter

from .views import HouseholdViewSet, PersonViewSet

router = SimpleRouter()
router.register("households", HouseholdViewSet, basename="household")
router.register("persons", PersonViewSet, basename="person")

urlpatterns = router.urls
