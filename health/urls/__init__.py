"""Health UI routes under /o/<org_slug>/health/. Each area keeps its routes in its own module."""
from .alerts import urlpatterns as alert_urls
from .models import urlpatterns as model_urls
from .pages import urlpatterns as page_urls
from .validation import urlpatterns as validation_urls

app_name = "health"

urlpatterns = [*page_urls, *model_urls, *alert_urls, *validation_urls]
