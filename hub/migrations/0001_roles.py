"""Create the admins, support and end users groups with their permissions (hub/roles.py)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMINS, SUPPORT, END_USERS = "admins", "support", "end users"
SUPPORT_PERMISSIONS = [
    ("webhooks", "view_source"),
    ("webhooks", "view_delivery"),
    ("webhooks", "replay_delivery"),
    ("webhooks", "erase_delivery"),
    ("webhooks", "view_attempt"),
    ("webhooks", "view_replayjob"),
    ("webhooks", "view_repositoryhook"),
    ("webhooks", "view_redeliveryrequest"),
    ("connections", "view_connection"),
    ("connections", "view_callrecord"),
    ("connections", "view_callrollup"),
]
ADMIN_APPS = ["webhooks", "connections", "socialaccount", "account", "authtoken", "sites", "auth"]


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now.
    for config in apps.get_app_configs():
        before, config.models_module = getattr(config, "models_module", None), True
        create_permissions(config, verbosity=0, apps=apps)
        config.models_module = before  # the tests pass the live registry: leave it as it was
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admins, _ = Group.objects.get_or_create(name=ADMINS)
    admins.permissions.set(Permission.objects.filter(content_type__app_label__in=ADMIN_APPS))
    support, _ = Group.objects.get_or_create(name=SUPPORT)
    support.permissions.set(
        [
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in SUPPORT_PERMISSIONS
        ]
    )
    Group.objects.get_or_create(name=END_USERS)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[ADMINS, SUPPORT, END_USERS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("webhooks", "0005_delivery_permissions"),
        ("connections", "0003_linked_accounts"),
        ("socialaccount", "0006_alter_socialaccount_extra_data"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("sites", "0002_alter_domain_unique"),
        ("account", "0009_emailaddress_unique_primary_email"),
    ]
    operations = [migrations.RunPython(create_roles, remove_roles)]
