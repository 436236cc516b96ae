"""REST representations of sources and deliveries. Secrets are write-only everywhere."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .filters import FILTER_FIELDS, describe, filtered
from .models import Attempt, Delivery, ReplayJob, Source


class SourceSerializer(serializers.ModelSerializer):
    """A webhook source. ``secret`` is accepted on create (generated when omitted) and appears
    in the creation answer only; afterwards it is never returned."""

    url = serializers.SerializerMethodField(help_text="Give this URL to the provider.")
    secret = serializers.CharField(
        write_only=True, required=False, allow_blank=True, help_text="Signing secret (write-only)."
    )
    previous_secret_valid_until = serializers.DateTimeField(
        source="previous_secret_expires_at", read_only=True
    )

    class Meta:
        model = Source
        fields = [
            "id",
            "name",
            "provider",
            "url",
            "enabled",
            "secret",
            "signature_header",
            "signature_digest",
            "signature_encoding",
            "signature_prefix",
            "id_header",
            "event_header",
            "max_body_bytes",
            "rate_limit",
            "connection",
            "handling",
            "retry_schedule",
            "retention_days",
            "verified_at",
            "secret_rotated_at",
            "previous_secret_valid_until",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["verified_at", "secret_rotated_at", "created_at", "updated_at"]

    def get_url(self, source) -> str:
        return source.receiving_url(self.context.get("request"))

    def validate(self, attrs):
        if "connection" in attrs:
            candidate = Source(
                pk=getattr(self.instance, "pk", None), connection=attrs["connection"]
            )
            candidate._state.adding = self.instance is None
            try:
                candidate.check_connection()
            except DjangoValidationError as exc:
                raise serializers.ValidationError(exc.message_dict) from None
        candidate = Source(
            provider=attrs.get("provider", getattr(self.instance, "provider", "")),
            signature_header=attrs.get(
                "signature_header", getattr(self.instance, "signature_header", "")
            ),
        )
        try:
            candidate.check_generic()  # the admin's rule (Source.clean)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return attrs

    def create(self, validated_data):
        secret = validated_data.pop("secret", "")
        source = Source(**validated_data)
        try:
            self.context["shown_secret"] = source.set_secret(secret or None)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"secret": exc.messages}) from None
        source.save()
        return source

    def update(self, instance, validated_data):
        secret = validated_data.pop("secret", "")
        if secret:
            try:
                instance.set_secret(secret)
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"secret": exc.messages}) from None
        return super().update(instance, validated_data)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if "shown_secret" in self.context:
            data["secret"] = self.context.pop("shown_secret")
        return data


class RotateSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(
        required=False, allow_blank=True, help_text="The new secret; generated when omitted."
    )
    grace_seconds = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=30 * 86400,
        help_text="How long the previous secret keeps verifying (default 24 h).",
    )


class DeliverySerializer(serializers.ModelSerializer):
    source = serializers.UUIDField(source="source_id", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "source",
            "provider",
            "event_type",
            "external_id",
            "status",
            "received_at",
            "attempts",
            "http_status",
            "error",
            "next_attempt_at",
            "processed_at",
            "payload_removed_at",
        ]
        read_only_fields = fields


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = [
            "number",
            "started_at",
            "finished_at",
            "duration_ms",
            "outcome",
            "error_class",
            "error_message",
            "traceback",
            "worker",
        ]
        read_only_fields = fields


class DeliveryDetailSerializer(DeliverySerializer):
    body = serializers.CharField(
        source="body_text", read_only=True, help_text="The exact text received (UTF-8)."
    )

    attempt_list = AttemptSerializer(source="attempt_set", many=True, read_only=True)
    forwards = serializers.SerializerMethodField(
        help_text="One per matching route (the routing app): id, route, destination, status, "
        "attempts, last_response_status."
    )

    class Meta(DeliverySerializer.Meta):
        fields = [
            *DeliverySerializer.Meta.fields,
            "headers",
            "body",
            "body_size",
            "remote_addr",
            "payload_removed_reason",
            "attempt_list",
            "forwards",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_forwards(self, delivery) -> list:
        # The reverse relation of routing.Forward: read without importing the app above us.
        related = getattr(delivery, "forwards", None)
        if related is None:
            return []
        return list(
            related.order_by("pk").values(
                "id", "route", "destination", "status", "attempts", "last_response_status"
            )
        )


class BulkReplaySerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        max_length=1000,
        help_text="Replay exactly these deliveries (at most 1,000).",
    )
    source = serializers.UUIDField(required=False)
    provider = serializers.CharField(required=False)
    status = serializers.CharField(
        required=False, help_text="One status, or several comma-separated (dead,retrying)."
    )
    event_type = serializers.CharField(required=False)
    external_id = serializers.CharField(required=False)
    received_after = serializers.CharField(required=False, help_text="ISO 8601.")
    received_before = serializers.CharField(required=False, help_text="ISO 8601.")
    q = serializers.CharField(required=False, max_length=200, help_text="Text in the payload.")

    def validate(self, attrs):
        filters = {k: str(v) for k, v in attrs.items() if k in FILTER_FIELDS}
        if not attrs.get("ids") and not filters:
            raise serializers.ValidationError(
                "Give 'ids' or at least one filter: replaying every delivery is never implied."
            )
        try:
            filtered(filters)  # the one filter vocabulary's own checks
        except ValueError as exc:
            raise serializers.ValidationError(exc.args[0]) from None
        attrs["filters"] = filters
        return attrs


class OutcomesSerializer(serializers.Serializer):
    succeeded = serializers.IntegerField(help_text="Replayed deliveries processed or ignored.")
    dead = serializers.IntegerField(help_text="Replayed deliveries that died again.")
    in_flight = serializers.IntegerField(help_text="Queued, processing or retrying.")


class ReplayJobSerializer(serializers.ModelSerializer):
    progress = serializers.FloatField(read_only=True, help_text="0..1 of the queueing.")
    filters_in_words = serializers.SerializerMethodField()
    outcomes = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)

    class Meta:
        model = ReplayJob
        fields = [
            "id",
            "filters",
            "filters_in_words",
            "status",
            "total",
            "replayed",
            "skipped",
            "progress",
            "outcomes",
            "cancel_requested",
            "error",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_filters_in_words(self, job) -> str:
        return describe(job.filters)

    @extend_schema_field(OutcomesSerializer)
    def get_outcomes(self, job) -> dict:
        from .operations import job_outcomes

        return job_outcomes(job)
