from django.db.models.signals import post_save
from django.dispatch import receiver

from csops.tenancy.models import Organization


@receiver(post_save, sender=Organization, dispatch_uid="health_default_model_for_new_org")
def give_new_organization_a_default_model(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        from .services.models import health_model_ensure_default

        health_model_ensure_default(organization=instance)
