# Routes of health/views/models.py (relative to /o/<org_slug>/health/).
from django.urls import path

from ..views import models as views

urlpatterns = [
    path("models/", views.model_list, name="model_list"),
    path("models/new/", views.model_new, name="model_new"),
    path("models/<uuid:model_id>/", views.model_detail, name="model_detail"),
    path("models/<uuid:model_id>/draft/", views.model_draft, name="model_draft"),
    path("models/<uuid:model_id>/draft/start/", views.model_draft_start, name="model_draft_start"),
    path("models/<uuid:model_id>/draft/component/", views.model_draft_component, name="model_draft_component"),
    path("models/<uuid:model_id>/preview/", views.model_preview_view, name="model_preview"),
    path("models/<uuid:model_id>/publish/", views.model_publish, name="model_publish"),
    path("models/<uuid:model_id>/discard/", views.model_discard, name="model_discard"),
    path("models/<uuid:model_id>/delete/", views.model_delete, name="model_delete"),
    path("models/<uuid:model_id>/versions/<uuid:version_id>/", views.model_version, name="model_version"),
]
