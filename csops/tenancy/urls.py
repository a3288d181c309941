from django.urls import path

from . import views

app_name = "tenancy"

urlpatterns = [
    path("members/", views.members, name="members"),
    path("members/<int:membership_id>/", views.member_edit, name="member_edit"),
    path("teams/add/", views.team_add, name="team_add"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<uuid:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("audit/", views.audit_log, name="audit_log"),
]
