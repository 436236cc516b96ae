"""Admin for the delivery log: read-only rows, attempts, replay (one, a selection, or all that
match the current filters as a background job) and payload erasure."""

import contextlib

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core import catalog
from core.paginators import BoundedCountPaginator

from .. import operations
from ..bodies import pretty, pretty_headers
from ..filters import describe, filtered
from ..models import Attempt, Delivery, ReplayJob

# Admin changelist query parameters -> DeliveryFilter names (for "replay all matching").
ADMIN_FILTER_PARAMS = {
    "status__exact": "status",
    "provider__exact": "provider",
    "source__id__exact": "source",
    "event_type__exact": "event_type",
    "external_id": "external_id",
    "received_at__gte": "received_after",
    "received_at__lt": "received_before",
}


class ProviderFilter(admin.SimpleListFilter):
    """Providers from the receiver registry: no DISTINCT over millions of deliveries."""

    title = "provider"
    parameter_name = "provider__exact"

    def lookups(self, request, model_admin):
        return catalog.receiver_choices()

    def queryset(self, request, queryset):
        return queryset.filter(provider=self.value()) if self.value() else queryset


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = [
        "number", "outcome", "started_at", "duration_ms", "worker", "error_class",
        "error_message", "traceback_block",
    ]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Traceback")
    def traceback_block(self, obj):
        if not obj.traceback:
            return "-"
        return format_html(
            '<details><summary>show</summary><pre style="white-space: pre-wrap">{}</pre></details>',
            obj.traceback,
        )


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id", "source", "provider", "event_type", "status", "http_status", "received_at",
        "attempts",
    ]  # fmt: skip
    list_filter = [
        "status", ProviderFilter, "source", ("received_at", admin.DateFieldListFilter),
    ]  # fmt: skip
    search_fields = ["=external_id", "=id"]
    list_select_related = ["source"]
    show_full_result_count = False
    paginator = BoundedCountPaginator
    actions = ["replay_selected", "erase_selected"]
    inlines = [AttemptInline]
    readonly_fields = [
        "source", "provider", "event_type", "external_id", "status", "received_at",
        "processed_at", "next_attempt_at", "attempts", "http_status", "error", "remote_addr",
        "body_size", "payload_removed_at", "payload_removed_reason", "pretty_headers",
        "pretty_body",
    ]  # fmt: skip
    exclude = ["headers", "body"]
    change_list_template = "admin/webhooks/delivery/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).defer("body", "headers")

    def get_object(self, request, object_id, from_field=None):
        with contextlib.suppress(ValueError, Delivery.DoesNotExist):
            return Delivery.objects.select_related("source").get(pk=int(object_id))
        return None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Headers")
    def pretty_headers(self, obj):
        note = ""
        if obj.headers_cut:
            note = f"Headers truncated: {obj.headers_cut} bytes were not stored.\n"
        return format_html("<pre>{}{}</pre>", note, pretty_headers(obj.headers))

    @admin.display(description="Body")
    def pretty_body(self, obj):
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', pretty(obj.body_text))

    def has_replay_permission(self, request):
        return request.user.has_perm("webhooks.replay_delivery")

    def has_erase_permission(self, request):
        return request.user.has_perm("webhooks.erase_delivery")

    @admin.action(description="Replay selected deliveries", permissions=["replay"])
    def replay_selected(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True)[:1000])
        queued = operations.replay_ids(ids, by=request.user.get_username())
        skipped = len(ids) - len(queued)
        self.message_user(
            request,
            f"Queued {len(queued)} deliveries again"
            + (
                f"; {skipped} skipped (in flight, rejected or payload removed)." if skipped else "."
            ),
            messages.SUCCESS if queued else messages.WARNING,
        )

    @admin.action(description="Erase payload of selected deliveries", permissions=["erase"])
    def erase_selected(self, request, queryset):
        who = request.user.get_username()
        erased = sum(operations.erase(d, by=who).ok for d in queryset[:1000])
        self.message_user(request, f"Erased the payload of {erased} deliveries.")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "replay-matching/", view(self.replay_matching_view), name="webhooks_replay_matching"
            ),
            path("<int:pk>/replay/", view(self.replay_one_view), name="webhooks_delivery_replay"),
            path("<int:pk>/erase/", view(self.erase_one_view), name="webhooks_delivery_erase"),
            *super().get_urls(),
        ]

    def replay_one_view(self, request, pk):
        self._require(request, self.has_replay_permission(request))
        done = operations.replay_one(Delivery.objects.get(pk=pk), by=request.user.get_username())
        if done.ok:
            self.message_user(request, f"Delivery {pk} queued again.", messages.SUCCESS)
        else:
            self.message_user(request, done.reason, messages.ERROR)
        return redirect("admin:webhooks_delivery_change", pk)

    def erase_one_view(self, request, pk):
        self._require(request, self.has_erase_permission(request))
        done = operations.erase(Delivery.objects.get(pk=pk), by=request.user.get_username())
        if done.ok:
            self.message_user(request, f"The payload of delivery {pk} was erased.")
        else:
            self.message_user(request, done.reason, messages.ERROR)
        return redirect("admin:webhooks_delivery_change", pk)

    def replay_matching_view(self, request):
        """Confirm, then start a background job replaying everything the filters match."""
        if not self.has_replay_permission(request):
            raise PermissionDenied
        params = request.POST if request.method == "POST" else request.GET
        if params.get("q"):
            self.message_user(
                request, "Replay-all works with the filters, not the search box.", messages.ERROR
            )
            return redirect("admin:webhooks_delivery_changelist")
        filters = {
            name: params[key] for key, name in ADMIN_FILTER_PARAMS.items() if params.get(key)
        }
        if not filters:
            self.message_user(
                request, "Choose at least one filter before replaying all.", messages.ERROR
            )
            return redirect("admin:webhooks_delivery_changelist")
        try:
            matching = filtered(filters)
        except ValueError as exc:
            self.message_user(request, f"Invalid filter: {exc}", messages.ERROR)
            return redirect("admin:webhooks_delivery_changelist")
        if request.method == "POST":
            job = operations.start_job(filters, by_user=request.user)
            return redirect("admin:webhooks_replayjob_change", job.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Replay all matching deliveries?",
            "filters": filters,
            "filters_in_words": describe(filters),
            "count": matching.count(),
        }
        return TemplateResponse(request, "admin/webhooks/delivery/replay_matching.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {}
        if self.has_replay_permission(request):
            extra["replay_url"] = reverse("admin:webhooks_delivery_replay", args=[object_id])
        if self.has_erase_permission(request):
            extra["erase_url"] = reverse("admin:webhooks_delivery_erase", args=[object_id])
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    @staticmethod
    def _require(request, allowed: bool):
        if not allowed or request.method != "POST":
            raise PermissionDenied("Use the buttons on the delivery page.")

    def changelist_view(self, request, extra_context=None):
        extra = {"can_replay": self.has_replay_permission(request)}
        return super().changelist_view(request, {**(extra_context or {}), **extra})


@admin.register(ReplayJob)
class ReplayJobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "status",
        "percent",
        "replayed",
        "skipped",
        "total",
        "created_by",
        "created_at",
    ]
    list_filter = ["status"]
    readonly_fields = [
        "status", "percent", "total", "replayed", "skipped", "outcomes", "filters_in_words",
        "error", "cancel_requested", "created_by", "created_at", "started_at", "finished_at",
    ]  # fmt: skip
    exclude = ["last_id", "filters"]
    change_form_template = "admin/webhooks/replayjob/change_form.html"

    @admin.display(description="Progress")
    def percent(self, obj):
        return f"{obj.progress:.0%}"

    @admin.display(description="Filters")
    def filters_in_words(self, obj):
        return describe(obj.filters)

    @admin.display(description="Outcomes of the replayed deliveries")
    def outcomes(self, obj):
        o = operations.job_outcomes(obj)
        return f"{o['succeeded']} succeeded, {o['dead']} dead, {o['in_flight']} still in flight"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        cancel = self.admin_site.admin_view(self.cancel_view)
        return [
            path("<int:pk>/cancel/", cancel, name="webhooks_replayjob_cancel"),
            *super().get_urls(),
        ]

    def cancel_view(self, request, pk):
        if not request.user.has_perm("webhooks.replay_delivery"):
            raise PermissionDenied
        if request.method == "POST":
            ReplayJob.objects.filter(pk=pk).update(cancel_requested=True)
            self.message_user(request, "The job stops after its current batch.")
        return redirect("admin:webhooks_replayjob_change", pk)
