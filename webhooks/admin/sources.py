"""Admin for webhook sources: write-only secrets, shown once; rotation with a grace period."""

import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.forms import WriteOnlySecretField
from core.validators import validate_retry_schedule

from ..models import Source


class SourceForm(forms.ModelForm):
    new_secret = WriteOnlySecretField(
        label="Signing secret",
        help_text=(
            "Leave blank to generate one (shown once, after saving). Paste the provider's "
            "secret for Stripe and Slack. Write-only: a stored secret is never displayed; entering "
            "a new one rotates it, and the old one keeps verifying for the grace period."
        ),
    )

    retry_schedule = forms.CharField(
        required=False,
        label="Retry schedule",
        widget=forms.TextInput(attrs={"placeholder": "5, 300, 1800, 7200, 18000, 36000, 36000"}),
        help_text=(
            "Seconds to wait before each retry, comma-separated; after the last one the delivery "
            "is dead. Blank: the hub's default (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h)."
        ),
    )

    class Meta:
        model = Source
        widgets = {"max_body_bytes": forms.NumberInput(attrs={"class": "hub-wide-number"})}
        fields = [
            "name",
            "provider",
            "enabled",
            "new_secret",
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
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        schedule = self.instance.retry_schedule if self.instance.pk else None
        self.initial["retry_schedule"] = ", ".join(f"{s:g}" for s in schedule or [])

    def clean_retry_schedule(self):
        text = self.cleaned_data["retry_schedule"].strip()
        if not text:
            return None
        try:
            steps = [float(part) for part in text.split(",")]
        except ValueError:
            raise ValidationError("A comma-separated list of seconds, e.g. 5, 300, 1800.") from None
        steps = [int(step) if step.is_integer() else step for step in steps]
        validate_retry_schedule(steps)  # the model's (and the API's) rule
        return steps

    def clean(self):
        data = super().clean()
        provider = data.get("provider") or getattr(self.instance, "provider", None)
        secret = data.get("new_secret")
        if provider and secret:
            try:
                Source(provider=provider).receiver.validate_secret(secret)
            except ValidationError as exc:
                self.add_error("new_secret", exc)
        return data


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    form = SourceForm
    list_display = [
        "name",
        "provider",
        "enabled",
        "receiving_url_link",
        "verified_at",
        "created_at",
    ]
    list_filter = ["provider", "enabled"]
    search_fields = ["name", "=id"]
    readonly_fields = ["secret_state", "verified_at", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "provider", "enabled"]}),
        ("Secret", {"fields": ["new_secret", "secret_state"]}),
        (
            "Generic HMAC (provider 'Generic HMAC' only)",
            {
                "classes": ["collapse"],
                "fields": [
                    "signature_header",
                    "signature_digest",
                    "signature_encoding",
                    "signature_prefix",
                    "id_header",
                    "event_header",
                ],
            },
        ),
        ("Limits", {"fields": ["max_body_bytes", "rate_limit"]}),
        (
            "Processing",
            {"fields": ["connection", "handling", "retry_schedule", "retention_days"]},
        ),
        ("History", {"fields": ["verified_at", "created_at", "updated_at"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return [fs for fs in fieldsets if fs[0] != "History"]
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "provider"] if obj else fields

    @admin.display(description="Receiving URL")
    def receiving_url_link(self, obj):
        return format_html("<code>{}</code>", obj.get_receive_path())

    @admin.display(description="Secret")
    def secret_state(self, obj):
        if not obj or obj._state.adding:  # a new source's UUID exists before it is saved
            return "None yet: one is generated when left blank, and shown once after saving."
        parts = ["Set (write-only)."]
        if obj.secret_rotated_at:
            parts.append(f"Rotated {obj.secret_rotated_at:%Y-%m-%d %H:%M UTC}.")
        if obj.previous_secret and obj.previous_secret_expires_at:
            until = obj.previous_secret_expires_at
            parts.append(f"The previous secret verifies until {until:%Y-%m-%d %H:%M UTC}.")
        return " ".join(parts)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        source = Source.objects.filter(pk=object_id).first() if _is_uuid(object_id) else None
        if source is not None:
            extra_context = {
                **(extra_context or {}),
                "receiving_url": source.receiving_url(request),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        secret = form.cleaned_data.get("new_secret")
        if secret or not change:
            request._hub_shown_secret = obj.set_secret(secret or None)
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        return self._secret_page(request, obj, created=True)

    def response_change(self, request, obj):
        if getattr(request, "_hub_shown_secret", None):
            return self._secret_page(request, obj, created=False)
        return super().response_change(request, obj)

    def get_urls(self):
        rotate = self.admin_site.admin_view(self.rotate_secret_view)
        return [
            path("<uuid:object_id>/rotate-secret/", rotate, name="webhooks_source_rotate"),
            *super().get_urls(),
        ]

    def rotate_secret_view(self, request, object_id):
        source = get_object_or_404(Source, pk=object_id)
        if not self.has_change_permission(request, source):
            raise PermissionDenied
        if request.method == "POST":
            request._hub_shown_secret = source.set_secret()
            source.save()
            self.log_change(request, source, "Rotated the signing secret.")
            return self._secret_page(request, source, created=False)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": source,
            "title": f"Rotate the secret of {source.name}?",
        }
        return TemplateResponse(request, "admin/webhooks/source/rotate_secret.html", context)

    def _secret_page(self, request, obj, created):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obj,
            "created": created,
            "secret": request._hub_shown_secret,
            "receiving_url": obj.receiving_url(request),
            "change_url": reverse("admin:webhooks_source_change", args=[obj.pk]),
            "title": "Copy the signing secret now",
        }
        if not created:
            messages.info(request, "The secret was replaced.")
        response = TemplateResponse(request, "admin/webhooks/source/secret_shown.html", context)
        response["Cache-Control"] = "no-store"
        return response
