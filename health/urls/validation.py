# Routes of health/views/validation.py (relative to /o/<org_slug>/health/).
from django.urls import path

from ..views import validation as views

urlpatterns = [
    path("validation/", views.validation, name="validation"),
]
