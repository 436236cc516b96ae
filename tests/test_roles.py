"""The role matrix: admins, support and end users (groups created by a data migration), in the
admin and the API."""

import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from connections.models import Connection
from routing.models import Destination, Forward, Route
from webhooks.models import Delivery, Source

pytestmark = pytest.mark.django_db
ROLES = ("admin", "support", "end_user", "anonymous")


@pytest.fixture
def world(django_user_model):
    users = {}
    for role, group, staff in (
        ("admin", "admins", True),
        ("support", "support", True),
        ("end_user", "end users", False),
    ):
        user = django_user_model.objects.create_user(role, password=f"pw-{role}-1234")
        user.is_staff = staff
        user.save()
        user.groups.add(Group.objects.get(name=group))
        users[role] = user
    source = Source(name="Shop", provider="github")
    source.set_secret("a-very-secret-value-123")
    source.save()
    delivery = Delivery.objects.create(
        source=source, provider="github", event_type="push", status="dead", body=b"{}"
    )
    connection = Connection(name="Billing", provider="stripe")
    connection.set_credentials("sk_live_roles_test_123456")
    connection.save()
    destination = Destination(name="Team service", url="http://127.0.0.1:9/hook")
    destination.set_secret()
    destination.save()
    route = Route.objects.create(name="All", source=source, destination=destination)
    forward = Forward.objects.create(
        delivery=delivery, route=route, destination=destination, status="dead"
    )
    return {
        "users": users, "source": source, "delivery": delivery, "connection": connection,
        "destination": destination, "route": route, "forward": forward,
    }  # fmt: skip


def _web(client, world, role):
    if role != "anonymous":
        client.force_login(world["users"][role])
    return client


def _api(world, role):
    api = APIClient()
    if role != "anonymous":
        token = Token.objects.create(user=world["users"][role])
        api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


ADMIN_PAGES = [
    # (method, url template, expected by role: admin, support, end_user, anonymous)
    ("get", "/admin/webhooks/delivery/", (200, 200, 302, 302)),
    ("get", "/admin/webhooks/delivery/{delivery}/change/", (200, 200, 302, 302)),
    ("get", "/admin/webhooks/source/{source}/change/", (200, 200, 302, 302)),
    ("get", "/admin/webhooks/source/add/", (200, 403, 302, 302)),
    ("get", "/admin/webhooks/source/{source}/rotate-secret/", (200, 403, 302, 302)),
    ("get", "/admin/connections/connection/{connection}/change/", (200, 200, 302, 302)),
    ("post", "/admin/connections/connection/{connection}/test/", (302, 403, 302, 302)),
    ("get", "/admin/socialaccount/socialapp/", (200, 403, 302, 302)),
    ("get", "/admin/auth/user/", (200, 403, 302, 302)),
]


@pytest.mark.parametrize("method,url,expected", ADMIN_PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_admin_matrix(client, world, role, method, url, expected):
    keys = ("delivery", "source", "connection", "destination", "route", "forward")
    ids = {k: world[k].pk for k in keys}
    response = getattr(_web(client, world, role), method)(url.format(**ids))
    assert response.status_code == expected[ROLES.index(role)], (role, url)


def test_support_reads_but_cannot_change_configuration(client, world):
    client.force_login(world["users"]["support"])
    page = client.get(f"/admin/webhooks/source/{world['source'].pk}/change/").content.decode()
    assert 'name="_save"' not in page and "Rotate secret" not in page
    assert "a-very-secret-value-123" not in page
    response = client.post(
        f"/admin/webhooks/source/{world['source'].pk}/change/", {"name": "renamed"}
    )
    assert response.status_code == 403
    page = client.get(f"/admin/connections/connection/{world['connection'].pk}/change/")
    assert "sk_live_roles_test" not in page.content.decode()
    assert "test-connection" not in page.content.decode()


def test_support_replays_and_erases_from_the_admin(client, world):
    client.force_login(world["users"]["support"])
    pk = world["delivery"].pk
    page = client.get(f"/admin/webhooks/delivery/{pk}/change/").content.decode()
    assert "replay-delivery" in page and "erase-delivery" in page
    client.post(f"/admin/webhooks/delivery/{pk}/replay/")
    assert Delivery.objects.get(pk=pk).status == "queued"


def test_end_users_cannot_replay(client, world):
    client.force_login(world["users"]["end_user"])
    pk = world["delivery"].pk
    assert client.post(f"/admin/webhooks/delivery/{pk}/replay/").status_code == 302  # to login
    assert Delivery.objects.get(pk=pk).status == "dead"


API = [
    ("get", "/api/v1/deliveries/", None, (200, 200, 403, 401)),
    ("get", "/api/v1/deliveries/{delivery}/", None, (200, 200, 403, 401)),
    ("post", "/api/v1/deliveries/{delivery}/replay/", None, (202, 202, 403, 401)),
    ("post", "/api/v1/deliveries/{delivery}/erase/", None, (200, 200, 403, 401)),
    ("get", "/api/v1/sources/", None, (200, 200, 403, 401)),
    ("post", "/api/v1/sources/", {"name": "N", "provider": "github"}, (201, 403, 403, 401)),
    ("post", "/api/v1/sources/{source}/rotate-secret/", {}, (200, 403, 403, 401)),
    ("patch", "/api/v1/sources/{source}/", {"enabled": False}, (200, 403, 403, 401)),
    ("patch", "/api/v1/sources/{source}/", {"handling": "routes"}, (200, 403, 403, 401)),
    ("get", "/api/v1/connections/", None, (200, 200, 403, 401)),
    ("post", "/api/v1/connections/{connection}/rotate-credentials/", {"credentials": "x" * 12},
     (200, 403, 403, 401)),
    ("post", "/api/v1/deliveries/replay/", {"status": "dead"}, (202, 202, 403, 401)),
    ("get", "/api/v1/destinations/", None, (200, 200, 403, 401)),
    ("post", "/api/v1/destinations/", {"name": "New", "url": "https://example.com/h"},
     (201, 403, 403, 401)),
    ("post", "/api/v1/destinations/{destination}/rotate-secret/", {}, (200, 403, 403, 401)),
    ("patch", "/api/v1/destinations/{destination}/", {"enabled": False}, (200, 403, 403, 401)),
    ("get", "/api/v1/routes/", None, (200, 200, 403, 401)),
    ("post", "/api/v1/routes/{route}/pause/", {}, (200, 403, 403, 401)),
    ("get", "/api/v1/forwards/", None, (200, 200, 403, 401)),
    ("post", "/api/v1/forwards/{forward}/replay/", {}, (202, 202, 403, 401)),
]  # fmt: skip


@pytest.mark.parametrize("method,url,data,expected", API)
@pytest.mark.parametrize("role", ROLES)
def test_api_matrix(world, role, method, url, data, expected):
    keys = ("delivery", "source", "connection", "destination", "route", "forward")
    ids = {k: world[k].pk for k in keys}
    response = getattr(_api(world, role), method)(url.format(**ids), data, format="json")
    assert response.status_code == expected[ROLES.index(role)], (role, url, response.content)
    assert b"whsec_" not in response.content or (role == "admin" and method == "post")


def test_self_signed_up_users_are_end_users(client, db):
    response = client.post(
        "/accounts/signup/",
        {"username": "newbie", "password1": "a-long-pass-123", "password2": "a-long-pass-123"},
    )
    assert response.status_code == 302
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="newbie")
    assert list(user.groups.values_list("name", flat=True)) == ["end users"]
    assert not user.is_staff
