"""The three roles, as Django groups with permissions (created by a data migration).

- **admins**: everything (superusers are admins too).
- **support**: staff who read the dashboard, deliveries, attempts, sources, connections, call
  records, destinations, routes and forwards, replay deliveries and forwards and erase
  payloads; they change no configuration and see no secret (secrets are write-only for
  everyone).
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
    # routing (hub/migrations/0003_routing_roles.py): support replays forwards, edits nothing
    ("routing", "view_destination"),
    ("routing", "view_route"),
    ("routing", "view_forward"),
    ("routing", "view_forwardattempt"),
    ("routing", "replay_forward"),
    ("routing", "view_forwardjob"),
]
ADMIN_APPS = [
    "webhooks",
    "connections",
    "routing",
    "socialaccount",
    "account",
    "authtoken",
    "sites",
    "auth",
]


def add_to_end_users(sender, request, user, **kwargs):
    """allauth's user_signed_up: people who sign up themselves are end users."""
    from django.contrib.auth.models import Group

    group = Group.objects.filter(name=END_USERS).first()
    if group is not None:
        user.groups.add(group)
