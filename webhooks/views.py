"""The receiving endpoint: ``POST /webhooks/<source id>/``."""

from django.db import transaction
from django.http import JsonResponse
from django.utils.decorators import method_decorator
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from . import ingest


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
    throttle_classes = []
    schema = None

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
