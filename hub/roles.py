"""The three roles, as Django groups with permissions (created by a data migration).

- **admins**: everything (superusers are admins too).
- **support**: staff who read the dashboard, deliveries, attempts, sources, connections and
  call records, replay deliveries and erase payloads; they change no configuration and see no
  secret (secrets are write-only for everyone).
- **end users**: not staff; they sign in, link their own accounts and connect their own
  repositories, and see nothing else.
"""

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


def add_to_end_users(sender, request, user, **kwargs):
    """allauth's user_signed_up: people who sign up themselves are end users."""
    from django.contrib.auth.models import Group

    group = Group.objects.filter(name=END_USERS).first()
    if group is not None:
        user.groups.add(group)
