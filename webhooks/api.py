"""Management REST API for staff: ``/api/v1/sources/`` and ``/api/v1/deliveries/``."""

from datetime import timedelta

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from .models import Delivery, Source
from .serializers import (
    DeliveryDetailSerializer,
    DeliverySerializer,
    RotateSecretSerializer,
    SourceSerializer,
)


class SourceViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Webhook sources. Disable a source rather than delete it: its deliveries stay."""

    queryset = Source.objects.all()
    serializer_class = SourceSerializer
    filterset_fields = ["provider", "enabled"]

    @extend_schema(request=RotateSecretSerializer, responses=SourceSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """Replace the secret; the previous one keeps verifying for ``grace_seconds``.
        The new secret is in this answer only."""
        source = self.get_object()
        params = RotateSecretSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        grace = params.validated_data.get("grace_seconds")
        try:
            secret = source.set_secret(
                params.validated_data.get("secret") or None,
                grace=None if grace is None else timedelta(seconds=grace),
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"secret": exc.messages}) from None
        source.save()
        context = {**self.get_serializer_context(), "shown_secret": secret}
        return Response(SourceSerializer(source, context=context).data)


class DeliveryFilter(django_filters.FilterSet):
    received_after = django_filters.IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = django_filters.IsoDateTimeFilter(field_name="received_at", lookup_expr="lt")

    class Meta:
        model = Delivery
        fields = ["source", "provider", "status", "event_type", "external_id"]


class DeliveryPagination(CursorPagination):
    """Cursor pages: constant cost at any depth, and no COUNT over the whole log."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    """The delivery log, newest first. Filters: source, provider, status, event_type,
    external_id, received_after, received_before (ISO 8601)."""

    queryset = Delivery.objects.all()
    filterset_class = DeliveryFilter
    pagination_class = DeliveryPagination

    def get_queryset(self):
        qs = super().get_queryset()
        if self.action == "list":
            qs = qs.defer("body", "headers")
        return qs

    def get_serializer_class(self):
        return DeliveryDetailSerializer if self.action == "retrieve" else DeliverySerializer
