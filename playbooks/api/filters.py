"""Query-string filtering of the v1 task list."""
import django_filters

from playbooks.models import Task, TaskStatus, TaskType
from playbooks.selectors import task_list


class TaskFilter(django_filters.FilterSet):
    account = django_filters.UUIDFilter(field_name="account_id", help_text="Account UUID.")
    owner = django_filters.CharFilter(
        field_name="owner__email", lookup_expr="iexact", help_text="Owner's email address."
    )
    status = django_filters.ChoiceFilter(choices=TaskStatus.choices)
    type = django_filters.ChoiceFilter(choices=TaskType.choices)
    due_on = django_filters.DateFromToRangeFilter(
        help_text="Due date range, inclusive: due_on_after=YYYY-MM-DD and/or due_on_before=YYYY-MM-DD."
    )
    overdue = django_filters.BooleanFilter(
        method="filter_overdue",
        help_text="true: tasks due now (open, or snoozed past their date) with a due date before today in the "
        "organization's time zone; false: every other task.",
    )

    class Meta:
        model = Task
        fields = ["account", "owner", "status", "type"]

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        # The task list's own definition of overdue, so the API and the UI always agree.
        overdue = task_list(today=self.request.organization.today(), status="open", overdue_only=True)
        overdue_ids = overdue.order_by().values("pk")
        return queryset.filter(pk__in=overdue_ids) if value else queryset.exclude(pk__in=overdue_ids)
