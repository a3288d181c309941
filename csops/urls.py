from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from csops.tenancy import views as tenancy_views

org_ui = [
    path("", include("accounts.urls")),
    path("tasks/", include("playbooks.urls")),
    path("renewals/", include("renewals.urls")),
    path("health/", include("health.urls")),
    path("reports/dashboard/", include("reporting.urls_dashboard")),
    path("reports/", include("reporting.urls")),
    path("settings/", include("csops.tenancy.urls")),
]

org_api = [
    path("", include("accounts.api.urls")),
    path("", include("playbooks.api.urls")),
    path("", include("renewals.api.urls")),
    path("", include("health.api.urls")),
]

urlpatterns = [
    path("", tenancy_views.home, name="home"),
    path("healthz", tenancy_views.healthz, name="healthz"),
    path("accounts/", include("csops.tenancy.auth_urls")),
    path("o/<slug:org_slug>/", include(org_ui)),
    path("api/v1/orgs/<slug:org_slug>/", include(org_api)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("admin/", admin.site.urls),
]
