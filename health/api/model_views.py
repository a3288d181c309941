"""v1 API: health models. Every member (and token) reads models with their published configuration and
versions; ops admins (and read-write tokens created by an ops admin) create segment models, write the draft,
publish it, discard it and delete models that never scored anything. Writes go through
``health.services.models``, so the API keeps the pages' rules and audit trail."""
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.response import Response

from csops.tenancy.api.permissions import IsOrgMember, OpsAdminWrites
from csops.tenancy.api.viewsets import OrgScopedViewSet

from ..models import HealthModel, HealthModelVersion
from ..services.models import (
    health_model_create,
    health_model_delete,
    health_model_discard_draft,
    health_model_draft,
    health_model_draft_update,
    health_model_publish,
    health_model_update,
)
from .model_serializers import (
    DraftInputSerializer,
    HealthModelCreateSerializer,
    HealthModelSerializer,
    HealthModelUpdateSerializer,
    HealthModelVersionSerializer,
    PublishInputSerializer,
)


class InUse(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This health model is in use."
    default_code = "in_use"


class HealthModelViewSet(OrgScopedViewSet):
    """Health models: one per segment (a tier or a lifecycle stage) plus the default, each a list of versions
    (draft → published → retired). `PUT models/{id}/draft/` writes the draft (validated by the engine: 400
    lists every problem, nothing saved), `POST models/{id}/publish/` puts it in use and retires the previous
    version, `DELETE models/{id}/draft/` discards it. `DELETE models/{id}/` is refused (409) for the default
    model and for any model whose versions scored snapshots."""

    serializer_class = HealthModelSerializer
    permission_classes = [IsOrgMember, OpsAdminWrites]
    lookup_value_converter = "uuid"
    filter_backends = []
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def scoped_queryset(self):
        versions = HealthModelVersion.objects.select_related("created_by", "published_by").order_by("-number")
        return HealthModel.objects.prefetch_related(Prefetch("versions", queryset=versions))

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "with_configs": self.action == "retrieve"}

    def get_serializer_class(self):
        return {"create": HealthModelCreateSerializer, "partial_update": HealthModelUpdateSerializer,
                "draft": DraftInputSerializer, "publish": PublishInputSerializer}.get(self.action,
                                                                                      HealthModelSerializer)

    def _render(self, model, code=status.HTTP_200_OK):
        fresh = self.scoped_queryset().get(pk=model.pk)
        context = {**self.get_serializer_context(), "with_configs": True}
        return Response(HealthModelSerializer(fresh, context=context).data, status=code)

    @extend_schema(request=HealthModelCreateSerializer, responses={201: HealthModelSerializer})
    def create(self, request, *args, **kwargs):
        """Create a segment model (its first version is a draft copied from the default model)."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        model = health_model_create(organization=self.organization, actor=self.actor, **serializer.validated_data)
        return self._render(model, status.HTTP_201_CREATED)

    @extend_schema(exclude=True)
    def update(self, request, *args, **kwargs):
        if not kwargs.get("partial"):
            raise exceptions.MethodNotAllowed("PUT", detail="PATCH the name or description; PUT models/{id}/draft/ "
                                              "for the configuration.")
        return super().update(request, *args, **kwargs)

    @extend_schema(request=HealthModelUpdateSerializer, responses={200: HealthModelSerializer})
    def partial_update(self, request, *args, **kwargs):
        """Rename a model or change its description (a model's segment never changes)."""
        model = self.get_object()
        serializer = self.get_serializer(data={"name": model.name, "description": model.description,
                                               **request.data})
        serializer.is_valid(raise_exception=True)
        health_model_update(model=model, actor=self.actor, **serializer.validated_data)
        return self._render(model)

    @extend_schema(responses={204: None, 409: OpenApiResponse(description="The model is in use.")})
    def destroy(self, request, *args, **kwargs):
        model = self.get_object()
        try:
            health_model_delete(model=model, actor=self.actor)
        except ValidationError as refused:
            raise InUse(" ".join(refused.messages)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(methods=["PUT"], request=DraftInputSerializer,
                   responses={200: HealthModelVersionSerializer, 400: OpenApiResponse(description="Invalid model: "
                              "`errors.config` lists every problem; nothing was saved.")})
    @extend_schema(methods=["DELETE"], request=None, responses={204: None})
    @action(detail=True, methods=["put", "delete"])
    def draft(self, request, *args, **kwargs):
        """PUT: replace the draft's configuration (a draft is started from the published version if there is
        none). DELETE: discard the draft."""
        model = self.get_object()
        if request.method == "DELETE":
            health_model_discard_draft(model=model, actor=self.actor)
            return Response(status=status.HTTP_204_NO_CONTENT)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = health_model_draft_update(model=model, actor=self.actor, **serializer.validated_data)
        return Response(HealthModelVersionSerializer(version).data)

    @extend_schema(request=PublishInputSerializer, responses={200: HealthModelVersionSerializer})
    @action(detail=True, methods=["post"])
    def publish(self, request, *args, **kwargs):
        """Publish the draft: the previous published version is retired, and today's health is recomputed."""
        model = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if health_model_draft(model=model) is None:
            raise exceptions.ValidationError({"draft": ["There is no draft to publish."]})
        version = health_model_publish(model=model, actor=self.actor, notes=serializer.validated_data["notes"])
        return Response(HealthModelVersionSerializer(version).data)
