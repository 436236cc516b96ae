"""URL map: admin, the receiving endpoint, the management API and its docs."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from connections.api import ConnectionViewSet
from hub import accounts, dashboard, desk, ops
from webhooks.api import DeliveryViewSet, ReplayJobViewSet, SourceViewSet

# One sign-in for the hub and the admin: allauth's, with its rate limits and lockout.
admin.site.login = secure_admin_login(admin.site.login)

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
    # Before allauth's own routes: explain instead of failing when GitHub is not set up.
    path("accounts/github/login/", accounts.github_login, name="github_login"),
    path("accounts/github/login/callback/", accounts.github_callback, name="github_callback"),
    path("accounts/", include("allauth.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", dashboard.home, name="home"),
    path("integrations/<str:kind>/<str:pk>/", dashboard.integration, name="integration"),
    path("support/deliveries/", desk.support_desk, name="desk"),
    path("support/deliveries/<int:pk>/", desk.delivery_detail, name="desk-delivery"),
    path("support/deliveries/<int:pk>/replay/", desk.replay_one, name="desk-replay"),
    path("support/deliveries/<int:pk>/erase/", desk.erase_one, name="desk-erase"),
    path("support/replay/", desk.replay_matching, name="desk-replay-matching"),
    path("support/replay-jobs/<int:pk>/", desk.replay_job, name="desk-job"),
    path("healthz", ops.healthz, name="healthz"),
    path("metrics", ops.metrics, name="metrics"),
    path("api/v1/health/", ops.health_api, name="health-api"),
]
