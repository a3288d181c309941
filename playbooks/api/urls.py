from rest_framework.routers import SimpleRouter

from .views import TaskViewSet

# Path converters (not regexes) so that ids are typed as UUIDs in the URL and in the OpenAPI schema.
router = SimpleRouter(use_regex_path=False)
router.register("tasks", TaskViewSet, basename="task")
urlpatterns = router.urls
