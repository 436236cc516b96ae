"""Routing's permissions for the roles: admins get all of them; support may view destinations
(never their secrets, which no page shows), routes and forwards, and replay forwards."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT = [
    "view_destination",
    "view_route",
    "view_forward",
    "view_forwardattempt",
    "replay_forward",
    "view_forwardjob",
]


def grant(apps, schema_editor):
    config = apps.get_app_config("routing")
    before, config.models_module = getattr(config, "models_module", None), True
    create_permissions(config, verbosity=0, apps=apps)
    config.models_module = before
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    routing = Permission.objects.filter(content_type__app_label="routing")
    for group in Group.objects.filter(name="admins"):
        group.permissions.add(*routing)
    for group in Group.objects.filter(name="support"):
        group.permissions.add(*routing.filter(codename__in=SUPPORT))


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    routing = Permission.objects.filter(content_type__app_label="routing")
    for group in Group.objects.filter(name__in=["admins", "support"]):
        group.permissions.remove(*routing)


class Migration(migrations.Migration):
    dependencies = [("hub", "0002_incidents"), ("routing", "0003_forward_jobs")]
    operations = [migrations.RunPython(grant, revoke)]
