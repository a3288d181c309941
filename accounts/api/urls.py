from rest_framework.routers import SimpleRouter

from .signal_views import SurveyViewSet, TicketViewSet, UsageViewSet
from .views import AccountViewSet, ContactViewSet, TouchpointViewSet

# Path converters (not regexes) so that ids are typed as UUIDs in the URL and in the OpenAPI schema.
router = SimpleRouter(use_regex_path=False)
router.register("accounts", AccountViewSet, basename="account")
router.register("contacts", ContactViewSet, basename="contact")
router.register("touchpoints", TouchpointViewSet, basename="touchpoint")
router.register("signals/usage", UsageViewSet, basename="usage")
router.register("signals/surveys", SurveyViewSet, basename="survey")
router.register("signals/tickets", TicketViewSet, basename="ticket")
urlpatterns = router.urls
