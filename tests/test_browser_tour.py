"""A tour of every page in a real browser, as an admin, a support person and an end user:
each page renders without JavaScript errors, fits a 1440 px screen, gets a screenshot in
test-artifacts/ (tour-*.png), and the figures the overview and an integration page show equal
direct counts over the rows (the counts of tests/test_figures_reconcile.py)."""

import uuid
from datetime import timedelta

import pytest
import requests
from django.contrib.auth.models import Group

from connections.models import Connection
from webhooks import counts
from webhooks.models import Delivery
from webhooks.processing import process

from . import signers
from .browsing import admin_login, snap
from .test_figures_reconcile import _delivery_counts, _page_figures, _percent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "tour-pass-12345"


@pytest.fixture
def people(django_user_model, roles):
    admin = django_user_model.objects.create_superuser("ada", password=PASSWORD)
    support = django_user_model.objects.create_user("sue", password=PASSWORD, is_staff=True)
    support.groups.add(Group.objects.get(name="support"))
    end_user = django_user_model.objects.create_user("ed", password=PASSWORD)
    end_user.groups.add(Group.objects.get(name="end users"))
    return admin, support, end_user


def _history(base, make_source):
    """Deliveries posted to the live server: processed, ignored, dead (one replayed), refused."""
    source, secret = make_source("generic", name="Orders", retry_schedule=[])
    ids = []
    for event in ("test.count", "test.count", "test.fail", "test.fail", "nothing.here"):
        body, headers = signers.make_generic(secret, str(uuid.uuid4()), body=b'{"order": 42}')
        answer = requests.post(
            base + source.get_receive_path(), data=body, timeout=10,
            headers={**headers, "X-Event": event, "Content-Type": "application/json"},
        )  # fmt: skip
        ids.append(answer.json()["id"])
    for pk in ids:
        process(pk)
    bad = requests.post(base + source.get_receive_path(), data=b"{}", timeout=10,
                        headers={"X-Signature": "sha256=00"})  # fmt: skip
    assert bad.status_code == 401
    counts.flush()
    return source, ids


def _sign_in(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def _visit(page, url, name, selector="main, #content"):
    response = page.goto(url)
    page.wait_for_selector(selector)
    page.wait_for_load_state("networkidle")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1440, f"{name} is {width} px wide"
    snap(page, f"tour-{name}")
    return response


def test_every_page_renders_and_shows_the_counted_figures(
    live_server, browser, make_source, people
):
    base = live_server.url
    source, ids = _history(base, make_source)
    connection = Connection.objects.create(name="Billing", provider="stripe")
    dead = Delivery.objects.filter(pk__in=ids, status="dead").first()
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # --- support -----------------------------------------------------------------------------
    _sign_in(page, base, "sue")
    _visit(page, f"{base}/", "overview")
    row = _page_figures(page.inner_html(f"tr.integration[data-name='{source.name}']"))
    from django.utils import timezone

    minute = timezone.now().replace(second=0, microsecond=0)
    day = _delivery_counts(source, minute - timedelta(hours=24))
    assert row["last_24h"] == str(day["received"]) == "5"
    assert row["errors_last_24h"] == f"({day['dead']} dead)"
    assert row["success_rate_24h"] == _percent(day["success_rate"])
    for range_name, span in (("1h", timedelta(hours=1)), ("24h", timedelta(hours=24)),
                             ("7d", timedelta(days=7))):  # fmt: skip
        _visit(page, f"{base}/integrations/source/{source.pk}/?range={range_name}",
               f"integration-{range_name}", "#chart-volume .uplot")  # fmt: skip
        shown = _page_figures(page.inner_html("#figures"))
        expected = _delivery_counts(source, minute - span)
        for name in ("received", "refused", "processed", "ignored", "dead", "failed_attempts"):
            assert shown[name] == str(expected[name]), (range_name, name)
    page.hover("#chart-volume .u-over")  # the legend shows the values under the pointer
    snap(page, "tour-integration-hover")
    _visit(page, f"{base}/integrations/connection/{connection.pk}/", "connection")
    _visit(page, f"{base}/support/deliveries/", "desk")
    _visit(page, f"{base}/support/deliveries/{dead.pk}/", "delivery-dead")
    page.click("#replay")
    page.wait_for_selector("ul.messages")
    snap(page, "tour-delivery-replayed")
    _visit(page, f"{base}/support/replay/?source={source.pk}", "replay-confirm")
    page.click("#confirm-replay")
    page.wait_for_selector("#job-outcomes")
    snap(page, "tour-replay-job")
    _visit(page, f"{base}/api/docs/", "api-docs", "#swagger-ui")
    _visit(page, f"{base}/no/such/page/", "404")
    page.click("text=Sign out")

    # --- admin ----------------------------------------------------------------------------
    admin_login(page, base, "ada", PASSWORD)
    for name, path in (
        ("admin-index", "/admin/"),
        ("admin-source-add", "/admin/webhooks/source/add/"),
        ("admin-source-change", f"/admin/webhooks/source/{source.pk}/change/"),
        ("admin-connection-add", "/admin/connections/connection/add/"),
        ("admin-connection-change", f"/admin/connections/connection/{connection.pk}/change/"),
        ("admin-deliveries", "/admin/webhooks/delivery/"),
        ("admin-delivery", f"/admin/webhooks/delivery/{ids[0]}/change/"),
        ("admin-replay-jobs", "/admin/webhooks/replayjob/"),
        ("admin-oauth-app-add", "/admin/socialaccount/socialapp/add/"),
    ):
        _visit(page, base + path, name, "#content")
    page.goto(f"{base}/admin/connections/connection/add/")
    page.select_option("#id_auth_scheme", "basic")
    assert page.is_visible(".field-username") and not page.is_visible(".field-token_url")
    page.select_option("#id_auth_scheme", "oauth2_client_credentials")
    assert page.is_visible(".field-token_url")
    snap(page, "tour-admin-connection-auth-fields")

    # --- end user -------------------------------------------------------------------------
    context.clear_cookies()
    _sign_in(page, base, "ed")
    _visit(page, f"{base}/accounts/linked/", "linked-accounts")
    refused = _visit(page, f"{base}/support/deliveries/", "end-user-403")
    assert refused.status == 403 and page.is_visible("text=Go to your linked accounts")
    _visit(page, f"{base}/accounts/github/login/", "github-not-set-up")

    # --- narrow screens -------------------------------------------------------------------
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/accounts/linked/")
    snap(page, "tour-narrow-linked-accounts")
    context.close()
    assert not errors, f"JavaScript errors: {errors}"
