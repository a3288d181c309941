# Routes of health/views/alerts.py (relative to /o/<org_slug>/health/).
from django.urls import path

from ..views import alerts as views

urlpatterns = [
    path("alerts/settings/", views.alert_settings, name="alert_settings"),
    path("alerts/settings/test/", views.alert_settings_test, name="alert_settings_test"),
    path("alerts/deliveries/", views.alert_deliveries, name="alert_deliveries"),
    path("alerts/deliveries/<uuid:delivery_id>/retry/", views.alert_delivery_retry, name="alert_delivery_retry"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
    path("notifications/<uuid:notification_id>/open/", views.notification_open, name="notification_open"),
]
