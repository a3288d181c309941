from rest_framework import viewsets

from csops.tenancy.services import Actor

from .permissions import IsOrgMember


class OrgScopedViewSet(viewsets.ModelViewSet):
    """Base of every tenant API viewset: authentication, the org gate and scoping happen here, once.

    Subclasses implement `scoped_queryset()` (normally a selector call). Overriding `get_queryset`
    is refused at class creation: it is the one place scoping could be lost.
    """

    permission_classes = [IsOrgMember]
    lookup_field = "id"
    lookup_url_kwarg = "id"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(f"{cls.__name__} overrides get_queryset; implement scoped_queryset() instead")

    def scoped_queryset(self):
        raise NotImplementedError

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular introspection, no request org
            return self.queryset.none() if self.queryset is not None else None
        return self.scoped_queryset()

    @property
    def actor(self) -> Actor:
        return Actor.from_request(self.request)

    @property
    def organization(self):
        return self.request.organization
