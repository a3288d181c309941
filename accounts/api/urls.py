from rest_framework.routers import SimpleRouter

from .views import AccountViewSet, ContactViewSet, TouchpointViewSet

# Path converters (not regexes) so that ids are typed as UUIDs in the URL and in the OpenAPI schema.
router = SimpleRouter(use_regex_path=False)
router.register("accounts", AccountViewSet, basename="account")
router.register("contacts", ContactViewSet, basename="contact")
router.register("touchpoints", TouchpointViewSet, basename="touchpoint")
urlpatterns = router.urls
