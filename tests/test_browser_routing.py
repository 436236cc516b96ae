"""Routing in a real browser: an admin adds a destination (its secret shown once) and a route
(previewed on a real delivery first); support follows a forward on the delivery page, replays
it, filters the forwards desk and recovers a destination as a job. Screenshots in
test-artifacts/ (routing-*.png); no JavaScript errors; every page fits 1440 px."""

import uuid

import pytest
import requests
from django.contrib.auth.models import Group

from routing import forwarding, jobs
from routing.models import Destination, Forward, ForwardJob, Route
from webhooks.processing import process

from . import signers
from .browsing import admin_login, snap
from .receivers import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "route-pass-12345"


def _visit(page, url, name, selector="main, #content"):
    page.goto(url)
    page.wait_for_selector(selector)
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440, name
    snap(page, f"routing-{name}")


def _post(base, source, secret, action="opened"):
    body = (b'{"action": "%s", "number": 7, "repository": {"full_name": "acme/widgets"}}'
            % action.encode())  # fmt: skip
    _, headers = signers.make_github(secret, str(uuid.uuid4()), body=body, event="pull_request")
    answer = requests.post(base + source.get_receive_path(), data=body, headers=headers, timeout=10)
    assert answer.status_code == 202, answer.text
    return answer.json()["id"]


def test_routing_pages_in_a_browser(live_server, browser, make_source, django_user_model, roles):
    base = live_server.url
    django_user_model.objects.create_superuser("ada", password=PASSWORD)
    support = django_user_model.objects.create_user("sue", password=PASSWORD, is_staff=True)
    support.groups.add(Group.objects.get(name="support"))
    source, secret = make_source("github", name="Repos")
    receiver = Receiver(answer=lambda n, h, b: 503 if n == 0 else 200)
    first = _post(base, source, secret)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # --- admin: a destination, its secret once; a route, previewed first ------------------
    admin_login(page, base, "ada", PASSWORD)
    _visit(page, f"{base}/admin/routing/destination/add/", "destination-add")
    page.fill("#id_name", "Team service")
    page.fill("#id_url", receiver.url)
    page.fill("#id_headers", '{"X-Team": "platform"}')
    page.click("input[name=_save]")
    page.wait_for_selector("#shown-secret")
    shown = page.inner_text("#shown-secret")
    snap(page, "routing-secret-shown")
    destination = Destination.objects.get(name="Team service")
    assert shown.startswith("whsec_") and shown == destination.secret
    receiver.secret = shown
    _visit(page, f"{base}/admin/routing/destination/{destination.pk}/change/", "destination")
    assert shown not in page.content()  # write-only: never shown again

    _visit(page, f"{base}/admin/routing/route/add/", "route-add")
    page.fill("#id_name", "Opened PRs")
    page.select_option("#id_source", str(source.pk))
    page.select_option("#id_destination", str(destination.pk))
    page.fill("#id_event_types", '["pull_request.*"]')
    page.fill("#id_filter", "body.action == 'opened'")
    page.fill("#id_ordering_key", "body.repository.full_name")
    page.fill("#id_retry_schedule", "[]")
    page.click("#preview-route")
    page.wait_for_selector(".errornote, .errorlist")
    snap(page, "routing-route-preview")
    assert f"On delivery {first}" in page.content() and "filter -&gt; passes" in page.content()
    assert not Route.objects.exists()
    page.click("input[name=_save]")
    page.wait_for_selector("#changelist, .messagelist")
    assert Route.objects.filter(name="Opened PRs").exists()

    # --- a delivery forwarded; support follows it -----------------------------------------
    process(first)  # both deliveries now have a forward; in received order:
    second = _post(base, source, secret)
    process(second)
    forward = Forward.objects.get(delivery_id=first)
    assert forwarding.send(Forward.objects.get(delivery_id=second).pk) is None  # behind first
    # the receiver answers 503 once, no retries: dead, which lets the next of the key go, and
    # the same call sends it (HUB_FORWARD_CHAIN_SECONDS) without a trip through the queue
    assert forwarding.send_many([forward.pk]) == {
        forward.pk: "dead",
        Forward.objects.get(delivery_id=second).pk: "delivered",
    }
    pk = first
    context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", "sue")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    _visit(page, f"{base}/", "overview")
    row = page.inner_text(f"tr[data-destination='{destination.pk}']")
    assert "degraded" in row and "Team service" in row
    _visit(page, f"{base}/support/deliveries/{pk}/", "delivery-forwards")
    assert page.is_visible("#forwards >> text=Dead")
    page.click(".replay-forward")
    page.wait_for_selector("ul.messages")
    forwarding.send(forward.pk)
    page.reload()
    assert page.is_visible("#forwards >> text=Delivered")
    snap(page, "routing-delivery-replayed")
    assert [v for _, _, v in receiver.received] == [True, True, True]  # all signed, verified

    _visit(page, f"{base}/support/forwards/?destination={destination.pk}", "forwards-desk")
    assert page.is_visible("#forward-list >> text=Delivered")
    page.click("#start-recover")
    page.wait_for_selector("#job-progress")
    job = ForwardJob.objects.get()
    jobs.run(job.pk)
    page.reload()
    page.wait_for_selector("#job-status")
    assert "Done" in page.inner_text("#job-status")
    snap(page, "routing-forward-job")
    context.close()
    receiver.close()
    assert not errors, f"JavaScript errors: {errors}"
