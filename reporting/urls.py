from django.urls import path

from . import views, views_exec

app_name = "reporting"

urlpatterns = [
    path("emails/outbox/", views.outbox, name="outbox"),
    path("emails/outbox/<uuid:message_id>/", views.outbox_message, name="outbox_message"),
    path("emails/outbox/<uuid:message_id>/retry/", views.outbox_message_retry, name="outbox_retry"),
    path("emails/preview/", views.email_preview, name="email_preview"),
    path("emails/preferences/", views.email_preferences, name="email_preferences"),
    path("updates/", views.company_updates, name="company_updates"),
    path("updates/<uuid:update_id>/delete/", views.company_update_remove, name="company_update_delete"),
    path("priorities/", views.priorities_panel, name="priorities"),
    path("exec-update/", views_exec.exec_update_edit, name="exec_update"),
    path("exec-update/<uuid:exec_update_id>/", views_exec.exec_update_preview, name="exec_update_preview"),
]
