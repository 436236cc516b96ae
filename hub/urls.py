"""URL map: admin, the receiving endpoint, the management API and its docs."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import APIRootView, DefaultRouter

from connections.api import ConnectionViewSet
from core.permissions import HubStaff
from hub import accounts, dashboard, desk, ops
from routing.api import DestinationViewSet, ForwardJobViewSet, ForwardViewSet, RouteViewSet
from webhooks.api import DeliveryViewSet, ReplayJobViewSet, SourceViewSet

# One sign-in for the hub and the admin: allauth's, with its rate limits and lockout.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = admin.site.site_title = "Integration Hub"
admin.site.index_title = "Administration"


class HubAPIRoot(APIRootView):
    """The Integration Hub's management API (token or session authentication; admins and
    support). Sources and their secrets, the delivery log with replay and erase (one filter
    vocabulary: source, provider, status, event_type, external_id, received_after,
    received_before, q), bulk replay jobs, connections with their health checks, and the health
    of every integration (`health`). The schema is at /api/schema/, the docs at /api/docs/."""

    permission_classes = [HubStaff]


class HubRouter(DefaultRouter):
    APIRootView = HubAPIRoot

    def get_api_root_view(self, api_urls=None):
        names = {
            prefix: self.routes[0].name.format(basename=basename)
            for prefix, _viewset, basename in self.registry
        }
        return self.APIRootView.as_view(api_root_dict={**names, "health": "health-api"})


router = HubRouter()
router.register("sources", SourceViewSet)
router.register("deliveries", DeliveryViewSet)
router.register("replay-jobs", ReplayJobViewSet)
router.register("connections", ConnectionViewSet)
router.register("destinations", DestinationViewSet)
router.register("routes", RouteViewSet)
router.register("forwards", ForwardViewSet)
router.register("forward-jobs", ForwardJobViewSet)

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
    path("support/forwards/", desk.forwards_desk, name="desk-forwards"),
    path("support/forwards/replay/", desk.forwards_replay, name="desk-forwards-replay"),
    path("support/forwards/<int:pk>/replay/", desk.replay_forward, name="desk-forward-replay"),
    path("support/forward-jobs/<int:pk>/", desk.forward_job, name="desk-forward-job"),
    path("support/replay-jobs/<int:pk>/", desk.replay_job, name="desk-job"),
    path("healthz", ops.healthz, name="healthz"),
    path("metrics", ops.metrics, name="metrics"),
    path("api/v1/health/", ops.health_api, name="health-api"),
]
