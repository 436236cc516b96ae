"""Management REST API for staff: ``/api/v1/sources/`` and ``/api/v1/deliveries/``."""

from datetime import timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from . import operations
from .filters import DeliveryFilter
from .models import Delivery, ReplayJob, Source
from .serializers import (
    BulkReplaySerializer,
    DeliveryDetailSerializer,
    DeliverySerializer,
    ReplayJobSerializer,
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

    required_perm = None  # set per action (core.permissions)

    queryset = Source.objects.all()
    serializer_class = SourceSerializer
    filterset_fields = ["provider", "enabled"]

    def create(self, request, *args, **kwargs):
        """201 with the new source; its secret is in this answer only (never cached)."""
        response = super().create(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(request=RotateSecretSerializer, responses=SourceSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path="rotate-secret",
        required_perm="webhooks.change_source",
    )
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
        response = Response(SourceSerializer(source, context=context).data)
        response["Cache-Control"] = "no-store"
        return response


class DeliveryPagination(CursorPagination):
    """Cursor pages: constant cost at any depth, and no COUNT over the whole log."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    """The delivery log, newest first. Filters (webhooks.filters, the desk's too): source,
    provider, status (one or comma-separated), event_type, external_id, received_after,
    received_before (ISO 8601), q (text in the payload)."""

    required_perm = None  # set per action (core.permissions)

    queryset = Delivery.objects.all()
    filterset_class = DeliveryFilter
    pagination_class = DeliveryPagination

    def get_queryset(self):
        qs = super().get_queryset()
        if self.action == "list":
            qs = qs.defer("body", "headers")
        elif self.action == "retrieve":
            qs = qs.prefetch_related("attempt_set")
        return qs

    def get_serializer_class(self):
        return DeliveryDetailSerializer if self.action == "retrieve" else DeliverySerializer

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"], required_perm="webhooks.replay_delivery")
    def replay(self, request, pk=None):
        """Queue this delivery again (fresh retry budget; its attempt history is kept).
        409 when it cannot be replayed (in flight, rejected, or payload removed)."""
        delivery = self.get_object()
        done = operations.replay_one(delivery, by=request.user.get_username())
        if not done.ok:
            return _conflict("not_replayable", done.reason)
        return Response({"id": delivery.pk, "status": "queued"}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="deliveries_replay_matching",
        request=BulkReplaySerializer,
        responses={202: ReplayJobSerializer},
    )
    @action(
        detail=False, methods=["post"], url_path="replay", required_perm="webhooks.replay_delivery"
    )
    def replay_matching(self, request):
        """Replay a selection (``ids``, at most 1,000, answered at once) or everything a filter
        matches (source, provider, status, event_type, external_id, received_after,
        received_before, q: the desk's filters) as a background job whose progress and outcomes
        are at ``/api/v1/replay-jobs/{id}/``."""
        params = BulkReplaySerializer(data=request.data)
        params.is_valid(raise_exception=True)
        ids = params.validated_data.get("ids")
        if ids:
            queued = operations.replay_ids(ids, by=request.user.get_username())
            skipped = sorted(set(ids) - set(queued))
            return Response({"replayed": queued, "skipped": skipped}, status=status.HTTP_200_OK)
        job = operations.start_job(params.validated_data["filters"], by_user=request.user)
        data = ReplayJobSerializer(job, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=DeliverySerializer)
    @action(detail=True, methods=["post"], required_perm="webhooks.erase_delivery")
    def erase(self, request, pk=None):
        """Erase this delivery's body and headers (kept: id, times, outcome, attempts)."""
        delivery = self.get_object()
        done = operations.erase(delivery, by=request.user.get_username())
        if not done.ok:
            return _conflict("in_flight", done.reason)
        delivery.refresh_from_db()
        return Response(DeliverySerializer(delivery).data)


class ReplayJobViewSet(viewsets.ReadOnlyModelViewSet):
    """Bulk replay jobs and their progress; ``POST .../{id}/cancel/`` stops one after its
    current batch."""

    required_perm = None  # set per action (core.permissions)

    queryset = ReplayJob.objects.select_related("created_by")
    serializer_class = ReplayJobSerializer

    @extend_schema(request=None, responses=ReplayJobSerializer)
    @action(detail=True, methods=["post"], required_perm="webhooks.replay_delivery")
    def cancel(self, request, pk=None):
        job = self.get_object()
        ReplayJob.objects.filter(pk=job.pk).update(cancel_requested=True)
        job.refresh_from_db()
        return Response(self.get_serializer(job).data)


def _conflict(code: str, detail: str) -> Response:
    return Response({"error": code, "detail": detail}, status=status.HTTP_409_CONFLICT)
