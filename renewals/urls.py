from django.urls import path

from . import views

app_name = "renewals"

urlpatterns = [
    path("retention/", views.retention, name="retention"),
    path("retention/accounts/", views.retention_drilldown, name="retention_drilldown"),
]
