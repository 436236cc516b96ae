"""The operator pages, the health API, /healthz and /metrics, from the health data."""

import uuid

import pytest

from connections.models import Connection
from webhooks import counts as rollup_counts
from webhooks.models import Delivery
from webhooks.processing import process

from . import signers

pytestmark = pytest.mark.django_db


@pytest.fixture
def support(client, django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("sam", password="pw-sam-12345", is_staff=True)
    user.groups.add(Group.objects.get(name="support"))
    client.force_login(user)
    return client


def _deliver(post_webhook, source, event, n, capture):
    ids = []
    for _ in range(n):
        body, headers = signers.make_generic(source.secret, str(uuid.uuid4()))
        ids.append(post_webhook(source, body, {**headers, "X-Event": event}).json()["id"])
    with capture(execute=True):
        for pk in ids:
            process(pk)
    rollup_counts.flush()
    return ids


def test_overview_shows_status_and_the_rule_that_decided_it(
    support, make_source, post_webhook, django_capture_on_commit_callbacks
):
    good, _ = make_source("generic", name="Orders")
    bad, _ = make_source("generic", name="Refunds", retry_schedule=[])
    _deliver(post_webhook, good, "test.count", 6, django_capture_on_commit_callbacks)
    _deliver(post_webhook, bad, "test.fail", 6, django_capture_on_commit_callbacks)
    flagged = Connection.objects.create(name="Slack workspace", provider="slack")
    flagged.mark_needs_attention("tokens_revoked (delivery 12)")
    page = support.get("/").content.decode()
    assert 'data-name="Orders" data-status="healthy"' in page
    assert 'data-name="Refunds" data-status="down"' in page
    assert "all 6 attempts in the last 15 min failed" in page
    assert 'data-name="Slack workspace" data-status="needs_attention"' in page
    assert page.index("Refunds") < page.index("Orders")  # worst first
    only_down = support.get("/", {"status": "down"}).content.decode()
    assert "Refunds" in only_down and "Orders" not in only_down
    fragment = support.get("/", {"fragment": "1"}).content.decode()
    assert "<html" not in fragment and "Refunds" in fragment


def test_integration_page_has_charts_and_error_history(
    support, make_source, post_webhook, django_capture_on_commit_callbacks
):
    source, _ = make_source("generic", name="Refunds", retry_schedule=[])
    ids = _deliver(post_webhook, source, "test.fail", 3, django_capture_on_commit_callbacks)
    page = support.get(f"/integrations/source/{source.pk}/", {"range": "1h"}).content.decode()
    assert 'id="chart-volume"' in page and 'id="series"' in page
    assert "RuntimeError" in page and f"delivery {ids[-1]}" in page
    assert support.get("/integrations/nothing/1/").status_code == 404


def test_support_desk_search_replay_and_erase(
    support, make_source, post_webhook, django_capture_on_commit_callbacks
):
    source, _ = make_source("generic", name="Refunds", retry_schedule=[])
    ids = _deliver(post_webhook, source, "test.fail", 2, django_capture_on_commit_callbacks)
    page = support.get("/support/deliveries/").content.decode()
    assert all(f'data-id="{pk}"' in page for pk in ids)
    found = support.get("/support/deliveries/", {"q": "plain text"}).content.decode()
    assert f'data-id="{ids[0]}"' in found
    none = support.get("/support/deliveries/", {"q": "no such words"}).content.decode()
    assert "Nothing matches" in none
    detail = support.get(f"/support/deliveries/{ids[0]}/").content.decode()
    assert "RuntimeError" in detail and "plain text, not JSON" in detail and 'id="replay"' in detail
    support.post(f"/support/deliveries/{ids[0]}/replay/")
    assert Delivery.objects.get(pk=ids[0]).status == "queued"
    support.post(f"/support/deliveries/{ids[1]}/erase/")
    assert bytes(Delivery.objects.get(pk=ids[1]).body) == b""
    response = support.post("/support/replay/", {"source": str(source.pk), "status": "dead"})
    assert response.status_code == 302 and "/support/replay-jobs/" in response["Location"]


def test_end_users_are_refused_the_operator_pages(client, django_user_model):
    user = django_user_model.objects.create_user("eve", password="pw-eve-123456")
    client.force_login(user)
    assert client.get("/")["Location"] == "/accounts/linked/"
    for url in ("/support/deliveries/", "/integrations/source/x/", "/api/v1/health/"):
        assert client.get(url).status_code == 403, url
    assert client.get("/metrics").status_code == 401


def test_health_api_healthz_and_metrics(
    support, make_source, post_webhook, django_capture_on_commit_callbacks
):
    source, _ = make_source("generic", name="Orders")
    _deliver(post_webhook, source, "test.count", 2, django_capture_on_commit_callbacks)
    data = support.get("/api/v1/health/").json()["integrations"]
    assert data[0]["name"] == "Orders" and data[0]["last_24h"] == 2
    assert data[0]["status"] == "healthy"
    live = support.get("/healthz")
    assert live.status_code == 200
    assert {k for k, v in live.json()["checks"].items() if v["ok"]} == {
        "database",
        "cache",
        "broker",
    }
    text = support.get("/metrics").content.decode()
    assert 'hub_deliveries_finished{outcome="processed",source="Orders"} 2.0' in text
    assert 'hub_deliveries_received_total{source="Orders"} 2.0' in text
    assert "hub_processing_seconds_bucket" in text


def test_admins_are_mailed_once_per_incident_and_on_recovery(
    mailoutbox, django_user_model, make_source, post_webhook, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from hub import alerts
    from hub.models import Incident

    django_user_model.objects.create_superuser("root2", "ops@example.test", "pw-root-12345")
    source, _ = make_source("generic", name="Refunds", retry_schedule=[])
    _deliver(post_webhook, source, "test.fail", 6, django_capture_on_commit_callbacks)
    account = Connection.objects.create(name="GitHub @octocat", provider="github")
    account.mark_needs_attention("linked account needs re-authorization: refused")
    assert alerts.evaluate() == {"opened": 2, "closed": 0}
    assert alerts.evaluate() == {"opened": 0, "closed": 0}  # once per incident
    subjects = sorted(m.subject for m in mailoutbox)
    assert subjects == ["[hub] GitHub @octocat is needs attention", "[hub] Refunds is down"]
    assert mailoutbox[0].to == ["ops@example.test"]
    # Recovery: the account is re-authorized, and the source's failures age out of the window.
    account.set_status("healthy", "re-authorized")
    later = timezone.now() + timedelta(minutes=20)
    assert alerts.evaluate(now=later) == {"opened": 0, "closed": 2}
    assert sorted(m.subject for m in mailoutbox[2:]) == [
        "[hub] GitHub @octocat recovered",
        "[hub] Refunds recovered",
    ]
    assert not Incident.objects.filter(closed_at__isnull=True).exists()
