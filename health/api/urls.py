from rest_framework.routers import SimpleRouter

from .alert_views import AlertViewSet, NotificationViewSet
from .model_views import HealthModelViewSet
from .snapshot_views import PulseViewSet, SnapshotViewSet

# Path converters (not regexes) so that ids are typed as UUIDs in the URL and in the OpenAPI schema.
router = SimpleRouter(use_regex_path=False)
router.register("health-models", HealthModelViewSet, basename="healthmodel")
router.register("alerts", AlertViewSet, basename="alert")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("snapshots", SnapshotViewSet, basename="snapshot")
router.register("pulses", PulseViewSet, basename="pulse")
urlpatterns = router.urls
