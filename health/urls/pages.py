# Routes of health/views/pages.py (relative to /o/<org_slug>/health/).
from django.urls import path

from ..views import pages

urlpatterns = [
    path("", pages.overview, name="overview"),
    path("accounts/<uuid:account_id>/pulse/", pages.pulse_record_view, name="pulse_record"),
]
