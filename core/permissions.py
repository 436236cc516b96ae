"""API permissions from Django's model permissions (roles are groups: hub/roles.py).

``ModelPermissions``: reading needs the model's ``view`` permission, writing its add/change/
delete permission. An action names the permission it needs with ``required_perm`` in its
``@action`` kwargs (e.g. replaying needs ``webhooks.replay_delivery``); the view set declares
``required_perm = None`` (DRF sets action kwargs on the view).
"""

from rest_framework.permissions import BasePermission, DjangoModelPermissions


class ModelPermissions(DjangoModelPermissions):
    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        required = getattr(view, "required_perm", None)
        if required:
            return request.user.has_perm(required)
        return super().has_permission(request, view)


class HubStaff(BasePermission):
    """Admins and support (who hold ``webhooks.view_delivery``): the API schema and docs.
    Signed-up end users get 403."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("webhooks.view_delivery"))
