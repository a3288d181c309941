from django.urls import path

from . import views_dashboard

app_name = "dashboards"

urlpatterns = [
    path("", views_dashboard.dashboard, name="dashboard"),
    path("accounts/", views_dashboard.dashboard_drill, name="drill"),
]
