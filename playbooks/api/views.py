"""v1 API: tasks (CTAs) of one organization, with their complete / snooze / reopen actions."""
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.filters import SearchFilter
from rest_framework.response import Response

from accounts.api.fields import unique_violations_as_field_errors
from accounts.api.filters import DATE_NULLS_LAST, CursorOrderingFilter, OrgFilterBackend
from csops.tenancy.api.viewsets import OrgScopedViewSet
from playbooks.models import ACTIVE_STATUSES, Task, TaskStatus
from playbooks.selectors import task_list_all
from playbooks.services import task_complete, task_create, task_delete, task_reopen, task_snooze, task_update

from .filters import TaskFilter
from .serializers import TaskSerializer, TaskSnoozeSerializer

DUPLICATE_TASK = "An open or snoozed task with this account, type and reason already exists."


class TaskViewSet(OrgScopedViewSet):
    """Tasks (calls to action) on accounts. Lists are cursor-paginated; `?ordering=` accepts due_on,
    priority, created_at, updated_at (prefix `-` for descending; tasks without a due date sort last)."""

    serializer_class = TaskSerializer
    lookup_value_converter = "uuid"
    filter_backends = [OrgFilterBackend, SearchFilter, CursorOrderingFilter]
    filterset_class = TaskFilter
    search_fields = ["title"]
    ordering_fields = ["due_on", "priority", "created_at", "updated_at"]
    ordering = ("-created_at", "-id")
    ordering_nulls_last = {"due_on": DATE_NULLS_LAST}

    unique_fields = {"task_one_active_per_account_type_reason": "reason"}
    unique_messages = {"task_one_active_per_account_type_reason": DUPLICATE_TASK}

    def scoped_queryset(self):
        return task_list_all()

    def get_serializer_class(self):
        if self.action == "snooze":
            return TaskSnoozeSerializer
        if self.action in ("complete", "reopen"):
            return serializers.Serializer  # no body
        return TaskSerializer

    @extend_schema(
        responses={
            201: OpenApiResponse(TaskSerializer, description="Created."),
            200: OpenApiResponse(
                TaskSerializer,
                description="Not created: an open or snoozed task with the same account, type and (non-empty) "
                "reason exists, and this is it.",
            ),
        }
    )
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task, created = task_create(actor=self.actor, **serializer.validated_data)
        body = TaskSerializer(task, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def perform_update(self, serializer):
        with unique_violations_as_field_errors(Task, self.unique_fields, self.unique_messages):
            serializer.instance = task_update(task=serializer.instance, actor=self.actor, **serializer.validated_data)

    def perform_destroy(self, instance):
        task_delete(task=instance, actor=self.actor)

    def _task_response(self, task: Task) -> Response:
        return Response(TaskSerializer(task, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, *args, **kwargs):
        """Mark the task done (idempotent)."""
        return self._task_response(task_complete(task=self.get_object(), actor=self.actor))

    @extend_schema(request=TaskSnoozeSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def snooze(self, request, *args, **kwargs):
        """Hide an open or snoozed task until a future date; it reopens by itself on that day."""
        task = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if task.status not in ACTIVE_STATUSES:
            raise serializers.ValidationError({"non_field_errors": ["Only open or snoozed tasks can be snoozed."]})
        return self._task_response(task_snooze(task=task, until=serializer.validated_data["until"], actor=self.actor))

    @extend_schema(request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, *args, **kwargs):
        """Open a done, cancelled or snoozed task again. Refused (400) when another active task has the same
        account, type and reason."""
        task = self.get_object()
        if task.status == TaskStatus.OPEN:
            return self._task_response(task)
        try:
            task = task_reopen(task=task, actor=self.actor)
        except ValueError as exc:
            raise serializers.ValidationError({"non_field_errors": [str(exc)]}) from exc
        return self._task_response(task)
