from django.db import models

from .context import TenantContextMissing, all_tenants_allowed, current_organization


class TenantQuerySet(models.QuerySet):
    pass


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Default manager of every tenant-owned model: scoped to the tenant context, or raises."""

    def get_queryset(self):
        qs = super().get_queryset()
        if all_tenants_allowed():
            return qs
        org = current_organization(required=False)
        if org is None:
            raise TenantContextMissing(
                f"{self.model.__name__} queried outside a tenant context; wrap the work in "
                "tenant_context(org) (or dangerously_all_tenants() for deliberate cross-tenant work)"
            )
        return qs.filter(organization_id=org.pk)

    # Inserts don't read other tenants' rows: they need an organization on every object (set from the
    # context by TenantModel.save, or explicitly), not a scoped queryset. Reads and updates still raise.
    def create(self, **kwargs):
        obj = self.model(**kwargs)
        obj.save(force_insert=True, using=self.db)
        return obj

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        org = current_organization(required=False)
        for obj in objs:
            if obj.organization_id is None:
                if org is None:
                    raise TenantContextMissing(f"bulk_create of {self.model.__name__} rows without an organization")
                obj.organization_id = org.pk
            elif org is not None and obj.organization_id != org.pk and not all_tenants_allowed():
                raise ValueError(f"bulk_create of another organization's {self.model.__name__} rows")
        return super().get_queryset().bulk_create(objs, *args, **kwargs)
