"""URL map: admin, the receiving endpoint, the management API and its docs."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from connections.api import ConnectionViewSet
from hub import accounts
from webhooks.api import DeliveryViewSet, ReplayJobViewSet, SourceViewSet

router = DefaultRouter()
router.register("sources", SourceViewSet)
router.register("deliveries", DeliveryViewSet)
router.register("replay-jobs", ReplayJobViewSet)
router.register("connections", ConnectionViewSet)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/linked/", accounts.linked_accounts, name="linked-accounts"),
    path("accounts/linked/<int:account_id>/unlink/", accounts.unlink, name="linked-unlink"),
    path(
        "accounts/linked/<int:account_id>/repositories/",
        accounts.repositories,
        name="linked-repositories",
    ),
    path(
        "accounts/linked/<int:account_id>/repositories/connect/",
        accounts.connect_repository,
        name="linked-connect",
    ),
    path(
        "accounts/repository-hooks/<int:hook_id>/disconnect/",
        accounts.disconnect_repository,
        name="linked-disconnect",
    ),
    path("accounts/", include("allauth.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", accounts.home, name="home"),
]
