"""Admin for connections (write-only credentials, one-click test) and provider overrides."""

from allauth.socialaccount.models import SocialApp, SocialToken
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html

from core import catalog, crypto
from core.forms import WriteOnlySecretField
from core.paginators import BoundedCountPaginator

from . import checks
from .errors import IntegrationError, RateLimited
from .guards import Guards
from .models import AccountToken, CallRecord, Connection, ProviderOverride
from .models.connection import validate_credentials


class ConnectionForm(forms.ModelForm):
    base_url = forms.URLField(
        label="Base URL",
        required=False,
        assume_scheme="https",
        help_text=Connection.base_url.field.help_text,
    )
    token_url = forms.URLField(
        label="Token URL",
        required=False,
        assume_scheme="https",
        help_text=Connection.token_url.field.help_text,
    )
    new_credentials = WriteOnlySecretField(
        label="Credentials",
        help_text=(
            "Token, API key, password or client secret. Write-only: stored encrypted and never "
            "shown; entering a value replaces (rotates) the stored one."
        ),
    )

    class Meta:
        model = Connection
        fields = [
            "name", "provider", "enabled", "owner", "auth_scheme", "base_url", "api_key_header",
            "username", "token_url", "scope", "rate_limit", "health_check_method",
            "health_check_path",
        ]  # fmt: skip

    def clean_new_credentials(self):
        secret = self.cleaned_data.get("new_credentials")
        if secret:
            validate_credentials(secret)  # the API's rule too
        return secret

    def _post_clean(self):
        super()._post_clean()
        try:
            self.instance.check_linked_lock(bool(self.cleaned_data.get("new_credentials")))
        except ValidationError as exc:
            self._update_errors(exc)


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    form = ConnectionForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "provider", "enabled", "attention", "circuit", "rate_limit_remaining"]
    list_filter = ["provider", "status", "enabled"]
    search_fields = ["name"]
    readonly_fields = [
        "health", "attention", "status_changed_at", "circuit", "rate_limit_remaining",
        "rate_limit_reset_at", "last_success_at", "last_error_at", "last_error",
        "last_health_check_at", "last_health_check_ok", "last_health_check_message",
        "credentials_state", "created_at",
    ]  # fmt: skip
    fieldsets = [
        (None, {"fields": ["name", "provider", "enabled", "owner"]}),
        (
            "Authentication",
            {
                "fields": [
                    "auth_scheme",
                    "new_credentials",
                    "credentials_state",
                    "username",
                    "api_key_header",
                    "token_url",
                    "scope",
                ]  # fmt: skip
            },
        ),
        ("API", {"fields": ["base_url", "rate_limit", "health_check_method", "health_check_path"]}),
        (
            "State",
            {
                "fields": [
                    "health",
                    "attention",
                    "status_changed_at",
                    "circuit",
                    "rate_limit_remaining",
                    "rate_limit_reset_at",
                    "last_success_at",
                    "last_error_at",
                    "last_error",
                    "last_health_check_at",
                    "last_health_check_ok",
                    "last_health_check_message",
                ]  # fmt: skip
            },
        ),
    ]
    change_form_template = "admin/connections/connection/change_form.html"
    AUTH_FIELDS = {
        "bearer": ["new_credentials"],
        "api_key": ["new_credentials", "api_key_header"],
        "basic": ["username", "new_credentials"],
        "oauth2_client_credentials": ["username", "new_credentials", "token_url", "scope"],
        "linked_user": [],
    }
    """Which authentication fields each scheme uses (the form shows only those, hub/admin.js)."""

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:  # nothing to report before it exists
            return [fs for fs in fieldsets if fs[0] != "State"]
        return fieldsets

    def render_change_form(self, request, context, *args, **kwargs):
        context["auth_fields"] = {
            "fields": self.AUTH_FIELDS,
            "defaults": {key: spec.auth_scheme for key, spec in catalog.apis().items()},
        }
        return super().render_change_form(request, context, *args, **kwargs)

    @admin.display(description="Health")
    def health(self, obj):
        """The status is computed from the call records (the dashboard's rules): link to it."""
        url = reverse("integration", args=["connection", obj.pk])
        return format_html(
            '<a href="{}">Status, figures and error history on the dashboard</a>', url
        )

    @admin.display(description="Flag")
    def attention(self, obj):
        if obj.status == Connection.Status.NEEDS_ATTENTION:
            return f"Needs attention: {obj.status_reason or 'no reason recorded'}"
        return "None (nobody needs to act)"

    @admin.display(description="Circuit")
    def circuit(self, obj):
        return Guards(obj.pk, obj.spec.rate_limit).circuit_state() if obj.pk else "-"

    @admin.display(description="Stored credentials")
    def credentials_state(self, obj):
        if not obj or obj._state.adding or not obj.credentials:
            return "None stored."
        when = obj.credentials_rotated_at
        return f"Set (write-only){f', last replaced {when:%Y-%m-%d %H:%M UTC}' if when else ''}."

    def save_model(self, request, obj, form, change):
        secret = form.cleaned_data.get("new_credentials")
        if secret:
            obj.set_credentials(secret)
        super().save_model(request, obj, form, change)

    def get_urls(self):
        test = self.admin_site.admin_view(self.test_view)
        return [
            path("<int:pk>/test/", test, name="connections_connection_test"),
            *super().get_urls(),
        ]

    def test_view(self, request, pk):
        """Run the health check now and show the result (POST only; needs change permission)."""
        if not request.user.has_perm("connections.change_connection"):
            raise PermissionDenied
        if request.method == "POST":
            connection = Connection.objects.get(pk=pk)
            if not connection.acts_for(request.user):
                self.message_user(
                    request,
                    "Not tested: this connection uses a user's linked GitHub account, and its "
                    "token acts only for its owner. Its status is shown below.",
                    messages.ERROR,
                )
                return redirect(reverse("admin:connections_connection_change", args=[pk]))
            try:
                ok, message = checks.check(connection)
            except RateLimited as exc:
                ok, message = False, str(exc)
            self.message_user(
                request,
                f"{'Test passed' if ok else 'Test failed'}: {message}",
                messages.SUCCESS if ok else messages.ERROR,
            )
        return redirect(reverse("admin:connections_connection_change", args=[pk]))


@admin.register(ProviderOverride)
class ProviderOverrideAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["provider", "base_url", "connect_timeout", "read_timeout", "rate_limit"]


class ErrorClassFilter(admin.SimpleListFilter):
    """The error taxonomy's classes: no DISTINCT over millions of call records."""

    title = "error"
    parameter_name = "error_class"

    def lookups(self, request, model_admin):
        classes = [IntegrationError, *IntegrationError.__subclasses__()]
        return [("ok", "none (succeeded)"), *((cls.__name__, cls.__name__) for cls in classes)]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(error_class="" if value == "ok" else value)


@admin.register(CallRecord)
class CallRecordAdmin(admin.ModelAdmin):
    list_display = [
        "started_at", "connection", "method", "path", "status_code", "duration_ms", "attempts",
        "error_class",
    ]  # fmt: skip
    list_filter = [ErrorClassFilter, "connection"]
    list_select_related = ["connection"]
    show_full_result_count = False
    paginator = BoundedCountPaginator

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _oauth_providers():
    from allauth.socialaccount import providers

    return [(p.id, p.name) for p in providers.registry.get_class_list()]


class SocialAppForm(forms.ModelForm):
    provider = forms.ChoiceField(
        choices=_oauth_providers, help_text="The sign-in provider this OAuth app belongs to."
    )
    new_secret = WriteOnlySecretField(
        label="Client secret",
        help_text="Write-only: stored encrypted, never shown. Leave blank to keep the stored one.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.pk:  # a new app works on this site unless told otherwise
            from django.contrib.sites.models import Site

            self.initial.setdefault("sites", [Site.objects.get_current().pk])

    class Meta:
        model = SocialApp
        fields = ["provider", "name", "client_id", "new_secret", "settings", "sites"]

    def clean(self):
        data = super().clean()
        if not self.instance.pk and not data.get("new_secret"):
            self.add_error("new_secret", "The OAuth app's client secret is required.")
        if "sites" in data and not data["sites"]:
            self.add_error("sites", "Choose this hub's site: without one, nobody can sign in.")
        return data


admin.site.unregister(SocialApp)


@admin.register(SocialApp)
class HubSocialAppAdmin(admin.ModelAdmin):
    """allauth's OAuth apps, with the client secret encrypted and write-only. For GitHub the
    callback URL to register is <hub>/accounts/github/login/callback/."""

    form = SocialAppForm
    list_display = ["name", "provider", "client_id", "site_names"]
    filter_horizontal = ["sites"]

    @admin.display(description="Sites")
    def site_names(self, obj):
        names = ", ".join(site.domain for site in obj.sites.all())
        return names or "none: nobody can sign in with it (choose a site)"

    def changelist_view(self, request, extra_context=None):
        lonely = SocialApp.objects.filter(sites__isnull=True).values_list("name", flat=True)
        for name in lonely:
            self.message_user(
                request,
                f"The OAuth app '{name}' has no site, so its sign-in does not work yet: open it "
                "and choose this hub's site.",
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        secret = form.cleaned_data.get("new_secret")
        if secret:
            obj.secret = crypto.encrypt(secret)
        super().save_model(request, obj, form, change)


admin.site.unregister(SocialToken)


@admin.register(AccountToken)
class AccountTokenAdmin(admin.ModelAdmin):
    list_display = ["account", "status", "expires_at", "scopes", "linked_at", "refreshed_at"]
    list_filter = ["status"]
    fields = [
        "account", "connection", "status", "status_reason", "scopes", "expires_at", "linked_at",
        "refreshed_at",
    ]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request):
        return False
