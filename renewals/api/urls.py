from rest_framework.routers import SimpleRouter

from .views import ContractLineViewSet, MetricViewSet, RenewalViewSet

# Path converters (not regexes) so that ids are typed as UUIDs in the URL and in the OpenAPI schema.
router = SimpleRouter(use_regex_path=False)
router.register("contracts", ContractLineViewSet, basename="contract")
router.register("renewals", RenewalViewSet, basename="renewal")
router.register("metrics", MetricViewSet, basename="metric")
urlpatterns = router.urls
