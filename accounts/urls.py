from django.urls import path

from . import views
from .imports import views as import_views

app_name = "accounts"

urlpatterns = [
    path("", views.portfolio, name="portfolio"),
    path("accounts/", views.account_list_view, name="list"),
    path("accounts/new/", views.account_new, name="new"),
    path("accounts/reassign/", views.reassign, name="reassign"),
    path("accounts/a/<uuid:account_id>/", views.account_detail, name="detail"),
    path("accounts/a/<uuid:account_id>/edit/", views.account_edit, name="edit"),
    path("accounts/a/<uuid:account_id>/touchpoints/", views.touchpoint_add, name="touchpoint_add"),
    path("accounts/a/<uuid:account_id>/contacts/", views.contact_add, name="contact_add"),
    path("accounts/a/<uuid:account_id>/contacts/<uuid:contact_id>/", views.contact_edit, name="contact_edit"),
    path("import/", import_views.import_start, name="import"),
    path("import/template.csv", import_views.import_template, name="import_template"),
    path("import/<uuid:batch_id>/", import_views.import_detail, name="import_detail"),
    path("import/<uuid:batch_id>/errors.csv", import_views.import_errors_csv, name="import_errors"),
    path("import/<uuid:batch_id>/commit/", import_views.import_commit, name="import_commit"),
    path("import/<uuid:batch_id>/discard/", import_views.import_discard, name="import_discard"),
]
