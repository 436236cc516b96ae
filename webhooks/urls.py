from django.urls import path

from .views import ReceiveWebhookView

app_name = "webhooks"
urlpatterns = [
    path("<str:source_id>/", ReceiveWebhookView.as_view(), name="receive"),
]
