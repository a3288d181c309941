from django.urls import path

from . import views

app_name = "renewals"

urlpatterns = [
    path("", views.pipeline, name="pipeline"),
    path("forecast/", views.forecast_board, name="forecast"),
    path("r/<uuid:renewal_id>/forecast/", views.forecast_edit, name="forecast_edit"),
    path("r/<uuid:renewal_id>/close/", views.renewal_close_view, name="close"),
    path("retention/", views.retention, name="retention"),
    path("retention/accounts/", views.retention_drilldown, name="retention_drilldown"),
]
