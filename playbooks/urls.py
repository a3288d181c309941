from django.urls import path

from . import views

app_name = "playbooks"

urlpatterns = [
    path("", views.task_list_view, name="tasks"),
    path("new/", views.task_new, name="task_new"),
    path("<uuid:task_id>/complete/", views.task_complete_view, name="task_complete"),
    path("<uuid:task_id>/snooze/", views.task_snooze_view, name="task_snooze"),
    path("<uuid:task_id>/reopen/", views.task_reopen_view, name="task_reopen"),
    path("<uuid:task_id>/reassign/", views.task_reassign_view, name="task_reassign"),
]
