"""Admin for destinations (secret generated, shown once, rotatable), routes (expressions checked
when saved; pause, resume), and forwards (read-only; replay for who may)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from core.paginators import BoundedCountPaginator

from . import forwarding, preview
from .models import Destination, Forward, ForwardAttempt, Route


@admin.register(Destination)
class DestinationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "url", "handler", "enabled", "last_success_at", "failing_since"]
    list_filter = ["enabled"]
    search_fields = ["name", "url"]
    fields = [
        "name", "kind", "url", "handler", "headers", "connection", "timeout", "enabled",
        "disabled_reason",
        "disable_after", "last_success_at", "failing_since",
    ]  # fmt: skip
    readonly_fields = ["disabled_reason", "last_success_at", "failing_since"]
    actions = ["release_held"]

    def save_model(self, request, obj, form, change):
        if not change:
            request._hub_shown_secret = obj.set_secret()
        if change and "enabled" in form.changed_data and obj.enabled:
            obj.disabled_reason, obj.failing_since = "", None
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        if obj.kind == Destination.Kind.HANDLER:  # nothing is signed for a handler
            return super().response_add(request, obj, post_url_continue)
        return self._secret_page(request, obj, created=True)

    @admin.action(description="Release held forwards (oldest first)", permissions=["change"])
    def release_held(self, request, queryset):
        ids = forwarding.release(
            Forward.objects.filter(destination__in=queryset.filter(enabled=True))
        )
        self.message_user(request, f"{len(ids)} held forwards released.", messages.SUCCESS)

    def get_urls(self):
        rotate = self.admin_site.admin_view(self.rotate_secret_view)
        return [
            path("<int:object_id>/rotate-secret/", rotate, name="routing_destination_rotate"),
            *super().get_urls(),
        ]

    def rotate_secret_view(self, request, object_id):
        destination = get_object_or_404(Destination, pk=object_id)
        if not self.has_change_permission(request, destination):
            raise PermissionDenied
        if request.method != "POST":
            return redirect("admin:routing_destination_change", destination.pk)
        request._hub_shown_secret = destination.set_secret()
        destination.save(update_fields=["secret", "updated_at"])
        self.log_change(request, destination, "Rotated the signing secret.")
        return self._secret_page(request, destination, created=False)

    def _secret_page(self, request, obj, created):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obj,
            "created": created,
            "secret": request._hub_shown_secret,
            "change_url": reverse("admin:routing_destination_change", args=[obj.pk]),
            "title": "Copy the signing secret now",
        }
        response = TemplateResponse(request, "admin/routing/destination/secret_shown.html", context)
        response["Cache-Control"] = "no-store"
        return response


class RouteForm(forms.ModelForm):
    preview_delivery = forms.IntegerField(
        required=False,
        min_value=1,
        label="Preview on delivery",
        help_text="Press 'Preview' to see what the filter, transform and ordering key give on this "
        "delivery of the source (blank: its newest); nothing is saved until you press Save.",
    )

    class Meta:
        model = Route
        fields = [
            "name", "source", "provider", "destination", "event_types", "filter", "transform",
            "ordering_key", "retry_schedule", "enabled", "paused",
        ]  # fmt: skip

    def clean(self):
        data = super().clean()
        if "_preview" in self.data and not self.errors:
            delivery = preview.recent_delivery(
                data.get("source"), data.get("provider") or "", data.get("preview_delivery")
            )
            if delivery is None:
                raise forms.ValidationError(
                    "Preview: this source has no delivery to try on yet (or not that one)."
                )
            result = preview.preview(
                delivery, data.get("filter", ""), data.get("transform", ""),
                data.get("ordering_key", ""),
            )  # fmt: skip
            raise forms.ValidationError(
                f"Preview only, nothing was saved. {preview.in_words(result)}", code="preview"
            )
        return data


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    form = RouteForm
    change_form_template = "admin/routing/route/change_form.html"
    list_display = ["name", "source", "provider", "destination", "enabled", "paused"]
    list_filter = ["enabled", "paused", "destination"]
    search_fields = ["name"]
    fields = [
        "name", "source", "provider", "destination", "event_types", "filter", "transform",
        "ordering_key", "retry_schedule", "enabled", "paused", "preview_delivery",
    ]  # fmt: skip
    actions = ["pause", "resume"]

    @admin.action(description="Pause (hold new forwards)", permissions=["change"])
    def pause(self, request, queryset):
        n = queryset.update(paused=True)
        self.message_user(request, f"{n} routes paused: their forwards are held.")

    @admin.action(
        description="Resume (release held forwards, oldest first)", permissions=["change"]
    )
    def resume(self, request, queryset):
        queryset.update(paused=False)
        ids = forwarding.release(Forward.objects.filter(route__in=queryset))
        self.message_user(request, f"Resumed; {len(ids)} held forwards released.")


class ForwardAttemptInline(admin.TabularInline):
    model = ForwardAttempt
    extra = 0
    can_delete = False
    fields = ["number", "started_at", "duration_ms", "response_status", "error", "response_excerpt"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Forward)
class ForwardAdmin(admin.ModelAdmin):
    list_display = [
        "id", "delivery", "destination", "route", "status", "attempts", "last_response_status",
        "created_at",
    ]  # fmt: skip
    list_filter = ["status", "destination", "route"]
    search_fields = ["=delivery__id", "=webhook_id", "ordering_key"]
    paginator = BoundedCountPaginator
    show_full_result_count = False
    inlines = [ForwardAttemptInline]
    actions = ["replay"]
    readonly_fields = [
        "delivery", "route", "destination", "status", "webhook_id", "ordering_key", "attempts",
        "next_attempt_at", "last_response_status", "error", "created_at", "delivered_at",
    ]  # fmt: skip
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_replay_permission(self, request):
        return request.user.has_perm("routing.replay_forward")

    @admin.action(description="Replay (send again, same webhook-id)", permissions=["replay"])
    def replay(self, request, queryset):
        ids = forwarding.replay(queryset)
        skipped = queryset.count() - len(ids)
        self.message_user(
            request,
            f"{len(ids)} forwards queued again"
            + (f"; {skipped} skipped (pending, held, filtered or in flight)." if skipped else "."),
        )
