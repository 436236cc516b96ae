"""Support staff in a real browser: a failing integration on the overview, its error history,
replaying a dead delivery and watching it succeed; an end user is refused the support desk.
Screenshots of each page go to test-artifacts/."""

import uuid

import pytest
import requests
from django.contrib.auth.models import Group

from webhooks.models import Delivery

from . import signers, stack
from .browsing import snap

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _sign_in(page, base, username, password):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_support_replays_a_dead_delivery_and_an_end_user_is_refused(
    live_server, page, make_source, workers, django_user_model, roles
):
    support = django_user_model.objects.create_user("sue", password="sue-pass-1234", is_staff=True)
    support.groups.add(Group.objects.get(name="support"))
    django_user_model.objects.create_user("ed", password="ed-pass-12345")
    source, secret = make_source("generic", name="Refund events", retry_schedule=[])
    workers(beat=False)
    ids = []
    for _ in range(6):
        body, headers = signers.make_generic(secret, str(uuid.uuid4()))
        answer = requests.post(
            live_server.url + source.get_receive_path(),
            data=body,
            headers={**headers, "X-Event": "test.once"},
            timeout=10,
        )
        ids.append(answer.json()["id"])
    stack.wait_until(
        lambda: Delivery.objects.filter(pk__in=ids, status="dead").count() == 6,
        timeout=60,
        what="the six deliveries to die",
    )
    from webhooks import counts

    counts.flush()  # this test process's counts (received); the worker flushed its own

    _sign_in(page, live_server.url, "sue", "sue-pass-1234")
    page.wait_for_selector("tr.integration[data-name='Refund events']")
    row = page.locator("tr.integration[data-name='Refund events']")
    assert row.get_attribute("data-status") == "down"
    assert "all 6 attempts" in row.text_content()
    snap(page, "dashboard-overview")

    row.locator("a").first.click()
    page.wait_for_selector("#error-history")
    assert "ConnectionError" in page.text_content("#error-history")
    snap(page, "dashboard-integration")

    page.goto(f"{live_server.url}/support/deliveries/")
    page.wait_for_selector(f"tr.desk-row[data-id='{ids[0]}']")
    snap(page, "dashboard-support-desk")
    page.click(f"tr.desk-row[data-id='{ids[0]}'] a")
    page.wait_for_selector("#delivery-status")
    assert page.text_content("#delivery-status") == "dead"
    snap(page, "dashboard-delivery-dead")
    page.click("#replay")
    for _ in range(60):  # watch it: reload until the worker's outcome shows
        if page.text_content("#delivery-status") == "processed":
            break
        page.wait_for_timeout(500)
        page.reload()
    assert page.text_content("#delivery-status") == "processed"
    assert page.locator("#attempts tr").count() == 3  # header + failed + processed
    snap(page, "dashboard-delivery-replayed")

    page.click("text=Sign out")
    _sign_in(page, live_server.url, "ed", "ed-pass-12345")
    page.wait_for_url("**/accounts/linked/")
    response = page.goto(f"{live_server.url}/support/deliveries/")
    assert response.status == 403
    snap(page, "dashboard-end-user-refused")
