from django.urls import path, re_path

from .views import ReceiveWebhookView, not_found

app_name = "webhooks"
urlpatterns = [
    path("<str:source_id>/", ReceiveWebhookView.as_view(), name="receive"),
    re_path(r"", not_found),  # anything else under /webhooks/: a JSON 404 like the rest
]
