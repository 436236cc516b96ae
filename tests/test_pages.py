"""What people read on the pages: no dead ends, no raw values, the admin in the hub's words."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from connections.models import CallRecord, Connection
from hub.templatetags.hub_tags import ago, ms
from webhooks.models import Attempt, Delivery
from webhooks.processing import process

from . import signers

pytestmark = pytest.mark.django_db


@pytest.fixture
def support(client, django_user_model, roles):
    user = django_user_model.objects.create_user("sue", password="pw-sue-12345", is_staff=True)
    user.groups.add(Group.objects.get(name="support"))
    client.force_login(user)
    return client


def test_times_and_latencies_read_as_words():
    assert ago(timezone.now()) == "just now"
    assert ago(timezone.now() - timedelta(seconds=42)) == "42 s ago"
    assert ago(None) == "never"
    assert "under 25 ms" in ms(25) and "buckets" in ms(25)
    assert "50–100 ms" in ms(100) and "over 5 s" in ms(10000)


def test_a_refused_delivery_says_why_and_offers_no_replay(support, make_source, post_webhook):
    source, _ = make_source("github")
    body, headers = signers.make_github("not-the-secret", str(uuid.uuid4()))
    post_webhook(source, body, headers)
    row = Delivery.objects.get()
    page = support.get(f"/support/deliveries/{row.pk}/").content.decode()
    assert 'id="refused"' in page and "HTTP 401" in page
    assert 'id="replay"' not in page and "Not processed yet" not in page


def test_attempts_say_who_replayed_them_and_lost_workers(
    support, make_source, post_webhook, django_capture_on_commit_callbacks
):
    source, secret = make_source("generic", retry_schedule=[])
    body, headers = signers.make_generic(secret, str(uuid.uuid4()))
    pk = post_webhook(source, body, {**headers, "X-Event": "test.fail"}).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        process(pk)
    support.post(f"/support/deliveries/{pk}/replay/")
    queued = support.get(f"/support/deliveries/{pk}/").content.decode()
    assert "refreshes until the outcome lands" in queued and "window.location.reload" in queued
    with django_capture_on_commit_callbacks(execute=True):
        process(pk)
    Attempt.objects.create(delivery_id=pk, number=9, started_at=timezone.now(), outcome="lost")
    page = support.get(f"/support/deliveries/{pk}/").content.decode()
    assert "replayed by sue" in page and "worker lost" in page and "– ms" not in page
    assert "window.location.reload" not in page  # finished: no more refreshing


def test_error_pages_are_styled_and_lead_somewhere(client, django_user_model, roles):
    end_user = django_user_model.objects.create_user("ed", password="pw-ed-123456")
    end_user.groups.add(Group.objects.get(name="end users"))
    client.force_login(end_user)
    refused = client.get("/support/deliveries/")
    assert refused.status_code == 403
    text = refused.content.decode()
    assert 'class="top"' in text and "Go to your linked accounts" in text
    missing = client.get("/no/such/page/")
    assert missing.status_code == 404 and "Go to the start page" in missing.content.decode()


def test_the_500_page_stands_alone():
    from django.template.loader import get_template

    html = get_template("500.html").render({})
    assert "Something went wrong on our side" in html and 'href="/"' in html


def test_a_failed_github_sign_in_has_a_way_back(client):
    from django.template.loader import render_to_string

    html = render_to_string("socialaccount/authentication_error.html", {"user": None})
    assert "Back to sign in" in html


def test_an_integration_page_links_to_everything_it_summarizes(support, make_source):
    source, _ = make_source("github", name="Repos")
    page = support.get(f"/integrations/source/{source.pk}/").content.decode()
    assert 'id="view-all"' in page and f"source={source.pk}" in page
    conn = Connection.objects.create(name="Billing", provider="stripe")
    call = CallRecord.objects.create(
        connection=conn, started_at=timezone.now(), method="GET", path="/v1/x", duration_ms=3
    )
    page = support.get(f"/integrations/connection/{conn.pk}/").content.decode()
    assert f"/admin/connections/callrecord/{call.pk}/change/" in page
    assert support.get(f"/admin/connections/callrecord/{call.pk}/change/").status_code == 200


def test_charts_say_their_range_and_load_a_local_library(support, make_source):
    source, _ = make_source("github", name="Repos")
    for range_name, words in (("1h", "per minute, last hour"), ("7d", "per hour, last 7 days")):
        page = support.get(f"/integrations/source/{source.pk}/", {"range": range_name})
        text = page.content.decode()
        assert words in text and "vendor/uplot-1.6.32/uPlot.iife.min.js" in text
        assert "http://" not in text.split("uPlot")[0].split("<script")[-1]  # no CDN


def test_the_admin_speaks_the_hubs_language(client, admin_user):
    client.force_login(admin_user)
    index = client.get("/admin/").content.decode()
    assert "Integration Hub" in index and "Django administration" not in index
    add_source = client.get("/admin/webhooks/source/add/").content.decode()
    assert "Set (write-only)" not in add_source and "None yet" in add_source
    assert "hub-wide-number" in add_source and "ID header" in add_source
    add_conn = client.get("/admin/connections/connection/add/").content.decode()
    assert "Base URL" in add_conn and "API key header" in add_conn
    assert "Status:" not in add_conn and 'id="hub-auth-fields"' in add_conn
    app_form = client.get("/admin/socialaccount/socialapp/add/").content.decode()
    assert '<select name="provider"' in app_form
    assert 'value="1" selected' in app_form or "selected>example.com" in app_form


def test_the_secret_page_has_copy_targets_and_neutral_words(client, admin_user):
    client.force_login(admin_user)
    form = {"name": "Shop", "provider": "shopify", "enabled": "on", "max_body_bytes": 1048576,
            "rate_limit": "600/m", "retention_days": 30, "signature_digest": "sha256",
            "handling": "built_in",
            "signature_encoding": "hex"}  # fmt: skip
    page = client.post("/admin/webhooks/source/add/", form).content.decode()
    assert 'id="shown-secret" data-copy' in page and 'id="receiving-url" data-copy' in page
    assert "Give both" not in page


def test_an_app_without_a_site_is_pointed_out(client, admin_user):
    from allauth.socialaccount.models import SocialApp

    SocialApp.objects.create(provider="github", name="Hub app", client_id="x", secret="y")
    client.force_login(admin_user)
    page = client.get("/admin/socialaccount/socialapp/", follow=True).content.decode()
    assert "has no site" in page


def test_the_api_root_describes_the_api_and_lists_health(api_client):
    root = api_client.get("/api/v1/", HTTP_ACCEPT="application/json")
    assert root.status_code == 200 and "health" in root.json()
    page = api_client.get("/api/v1/", HTTP_ACCEPT="text/html").content.decode()
    assert "management API" in page


def test_the_connection_admin_never_calls_a_quiet_connection_healthy(client, admin_user):
    conn = Connection.objects.create(name="Billing", provider="stripe")
    client.force_login(admin_user)
    page = client.get(f"/admin/connections/connection/{conn.pk}/change/").content.decode()
    assert "Healthy" not in page and f"/integrations/connection/{conn.pk}/" in page
