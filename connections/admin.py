from django.contrib import admin

from .models import Connection


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ["name", "provider", "enabled", "status", "status_changed_at"]
    list_filter = ["provider", "status", "enabled"]
    search_fields = ["name"]
    readonly_fields = ["status_changed_at", "created_at"]
