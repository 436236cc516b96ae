"""The admin flows in a real browser: sources with their secret shown once, replaying
everything a filter matches with a real worker and a progress page, testing a connection."""

import re

import pytest
from django.utils import timezone

from connections.models import Connection
from webhooks.models import Delivery, Source

from .browsing import admin_login, snap
from .fake_api import FakeAPI

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "browser-pass-1234"


@pytest.fixture
def admin(django_user_model):
    return django_user_model.objects.create_superuser("boss", password=PASSWORD)


def test_add_a_source_copy_its_secret_once_and_rotate_it(live_server, page, admin):
    admin_login(page, live_server.url, "boss", PASSWORD)
    page.goto(f"{live_server.url}/admin/webhooks/source/add/")
    page.fill("#id_name", "Shop orders")
    page.select_option("#id_provider", "github")
    page.click("input[name=_save]")
    secret = page.text_content("#shown-secret")
    url = page.text_content("#receiving-url")
    snap(page, "admin-source-secret-shown-once")
    source = Source.objects.get()
    assert secret == source.secret
    assert url == f"{live_server.url}/webhooks/{source.pk}/"
    page.click("text=Done, I have copied it")
    page.wait_for_selector("#receiving-url")
    assert page.text_content("#receiving-url") == url
    assert secret not in page.content()
    snap(page, "admin-source-change-page")
    page.click("text=Rotate secret")
    page.click("input[value='Rotate the secret']")
    new_secret = page.text_content("#shown-secret")
    assert new_secret != secret
    source.refresh_from_db()
    assert source.valid_secrets() == [new_secret, secret]
    assert "previous secret keeps verifying" in page.content()


@pytest.mark.worker
def test_replay_all_dead_deliveries_and_watch_the_job_finish(live_server, page, admin, workers):
    source = Source(name="Payments", provider="generic", signature_header="X-Sig")
    source.set_secret()
    source.save()
    Delivery.objects.bulk_create(
        [
            Delivery(
                source=source,
                provider="generic",
                event_type="test.count",
                status="dead",
                received_at=timezone.now(),
                body=b"{}",
                headers={"X-Event": "test.count"},
                error="RuntimeError: boom",
            )
            for _ in range(25)
        ]
    )
    workers(beat=False)
    admin_login(page, live_server.url, "boss", PASSWORD)
    page.goto(f"{live_server.url}/admin/webhooks/delivery/?status__exact=dead")
    page.click("#replay-matching")
    assert page.text_content("#match-count") == "25"
    snap(page, "admin-replay-confirm")
    page.click("#confirm-replay")
    page.wait_for_selector("#job-progress")
    # The page refreshes itself every 2 s until the job is done.
    page.wait_for_function(
        "(document.querySelector('#job-status')?.textContent || '').startsWith('Done')",
        timeout=60_000,
    )
    assert re.search(r"Done: 25 queued, 0 skipped of 25", page.text_content("#job-status"))
    snap(page, "admin-replay-job-done")
    page.goto(f"{live_server.url}/admin/webhooks/delivery/?status__exact=processed")
    page.wait_for_selector("#result_list")
    assert page.locator("#result_list tbody tr").count() == 25


def test_test_connection_button_shows_the_result(live_server, page, admin):
    api = FakeAPI()
    try:
        api.script("/health", [200])
        connection = Connection(
            name="Billing API",
            provider="generic",
            base_url=api.url,
            auth_scheme="bearer",
            health_check_path="/health",
        )
        connection.set_credentials("tok-browser-123456")
        connection.save()
        admin_login(page, live_server.url, "boss", PASSWORD)
        page.goto(f"{live_server.url}/admin/connections/connection/{connection.pk}/change/")
        page.click("#test-connection")
        page.wait_for_selector(".messagelist")
        assert "Test passed: GET /health: HTTP 200" in page.text_content(".messagelist")
        assert "tok-browser-123456" not in page.content()
        snap(page, "admin-connection-tested")
    finally:
        api.close()
