"""The receiving endpoint: ``POST /webhooks/<source id>/``."""

from django.db import transaction
from django.http import JsonResponse
from django.utils.decorators import method_decorator
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from . import ingest


class AlwaysJSON(BaseContentNegotiation):
    """Senders get JSON whatever they Accept (DRF's documented custom negotiation); it also
    skips parsing the Accept header on the hot path."""

    def select_parser(self, request, parsers):
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def not_found(request, *args, **kwargs):
    """Paths under /webhooks/ that are no receiving URL: the same JSON as every refusal."""
    return JsonResponse(
        {
            "status": "rejected",
            "error": "not_found",
            "detail": "No webhook source has this URL; receiving URLs are /webhooks/<source id>/.",
        },
        status=404,
    )


@method_decorator(transaction.non_atomic_requests, name="dispatch")
class ReceiveWebhookView(APIView):
    """Receive one webhook delivery (contract: webhooks.ingest).

    No session, no CSRF, no DRF parsing: the ingest service reads and verifies the raw bytes
    before anything looks at them.
    """

    authentication_classes = []
    permission_classes = []
    parser_classes = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = AlwaysJSON
    throttle_classes = []
    schema = None

    def perform_authentication(self, request):
        """Nothing to authenticate (the signature is the sender's credential, checked by ingest);
        DRF documents a ``pass`` here as leaving ``request.user`` lazy."""

    def post(self, request, source_id):
        return ingest.receive(request._request, source_id)

    def http_method_not_allowed(self, request, *args, **kwargs):
        response = JsonResponse(
            {
                "status": "rejected",
                "error": "method_not_allowed",
                "detail": f"Webhooks are received with POST, not {request.method}.",
            },
            status=405,
        )
        response["Allow"] = "POST"
        return response
