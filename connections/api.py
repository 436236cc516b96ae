"""REST API for connections: ``/api/v1/connections/``. Credentials are write-only."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from . import checks
from .errors import RateLimited
from .guards import Guards
from .models import Connection
from .models.connection import validate_credentials


class ConnectionSerializer(serializers.ModelSerializer):
    credentials = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=False,
        validators=[validate_credentials],
        style={"input_type": "password"},
        help_text="Token, API key, password or client secret (write-only).",
    )
    has_credentials = serializers.SerializerMethodField()
    circuit_state = serializers.SerializerMethodField()

    class Meta:
        model = Connection
        fields = [
            "id", "name", "provider", "enabled", "owner", "auth_scheme", "base_url",
            "api_key_header", "username", "token_url", "scope", "rate_limit",
            "health_check_method", "health_check_path", "credentials", "has_credentials",
            "credentials_rotated_at", "status", "status_reason", "status_changed_at",
            "circuit_state", "rate_limit_remaining", "rate_limit_reset_at", "last_success_at",
            "last_error_at", "last_error", "last_health_check_at", "last_health_check_ok",
            "last_health_check_message", "created_at",
        ]  # fmt: skip
        read_only_fields = [
            "credentials_rotated_at", "status", "status_reason", "status_changed_at",
            "rate_limit_remaining", "rate_limit_reset_at", "last_success_at", "last_error_at",
            "last_error", "last_health_check_at", "last_health_check_ok",
            "last_health_check_message", "created_at",
        ]  # fmt: skip

    def get_has_credentials(self, obj) -> bool:
        return bool(obj.credentials)

    def validate(self, attrs):
        """The admin's rules too: a linked account's connection is never created, redirected or
        re-owned here (Connection.check_linked_lock)."""
        candidate = Connection(pk=getattr(self.instance, "pk", None))
        if self.instance is not None:
            for f in Connection._meta.concrete_fields:
                setattr(candidate, f.attname, getattr(self.instance, f.attname))
        for name, value in attrs.items():
            if name != "credentials":
                setattr(candidate, name, value)
        try:
            candidate.check_linked_lock(bool(attrs.get("credentials")))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return attrs

    def get_circuit_state(self, obj) -> str:
        return Guards(obj.pk, obj.spec.rate_limit).circuit_state()

    def create(self, validated_data):
        secret = validated_data.pop("credentials", "")
        connection = Connection(**validated_data)
        if secret:
            connection.set_credentials(secret)
        connection.save()
        return connection

    def update(self, instance, validated_data):
        secret = validated_data.pop("credentials", "")
        if secret:
            instance.set_credentials(secret)
        return super().update(instance, validated_data)


class RotateCredentialsSerializer(serializers.Serializer):
    credentials = serializers.CharField(
        validators=[validate_credentials], help_text="The new secret (write-only)."
    )


class HealthResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()


class ConnectionViewSet(viewsets.ModelViewSet):
    """Connections to third-party APIs. ``POST .../{id}/test/`` runs the health check;
    ``POST .../{id}/rotate-credentials/`` replaces the secret."""

    required_perm = None  # set per action (core.permissions)

    queryset = Connection.objects.all()
    serializer_class = ConnectionSerializer
    filterset_fields = ["provider", "status", "enabled"]

    @extend_schema(request=None, responses=HealthResultSerializer)
    @action(detail=True, methods=["post"], required_perm="connections.change_connection")
    def test(self, request, pk=None):
        """Run the health check now. 403 for a linked account's connection unless you are its
        owner: its token acts only for its owner."""
        connection = self.get_object()
        if not connection.acts_for(request.user):
            return Response(
                {"error": "not_owner", "detail": "This connection uses a user's linked GitHub "
                 "account; its token acts only for its owner."},
                status=403,
            )  # fmt: skip
        try:
            ok, message = checks.check(connection)
        except RateLimited as exc:
            ok, message = False, str(exc)
        return Response({"ok": ok, "message": message})

    @extend_schema(request=RotateCredentialsSerializer, responses=ConnectionSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path="rotate-credentials",
        required_perm="connections.change_connection",
    )
    def rotate_credentials(self, request, pk=None):
        connection = self.get_object()
        params = RotateCredentialsSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            connection.check_linked_lock(new_credentials=True)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        connection.set_credentials(params.validated_data["credentials"])
        connection.save()
        return Response(self.get_serializer(connection).data)
