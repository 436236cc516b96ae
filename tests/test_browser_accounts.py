"""A user signs in, links a GitHub account on the fake GitHub, connects a repository and sees
the webhook created, in a real browser."""

import pytest

from webhooks.models import RepositoryHook

from .browsing import snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_link_github_and_connect_a_repository(
    live_server, page, fake_github, django_user_model
):
    django_user_model.objects.create_user("dana", password="dana-pass-1234")
    page.goto(f"{live_server.url}/accounts/login/")
    snap(page, "accounts-sign-in")
    page.fill("input[name=login]", "dana")
    page.fill("input[name=password]", "dana-pass-1234")
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/linked/")
    assert "No GitHub account is linked yet" in page.content()
    page.click("#link-github")  # the browser goes to (fake) GitHub, which approves at once
    page.wait_for_selector(".linked-account[data-login=octocat]")
    assert "Valid" in page.text_content(".linked-account")
    snap(page, "accounts-linked")
    page.click("text=Choose a repository…")
    page.wait_for_selector("#send-events")
    page.click("#next-page")
    page.wait_for_selector("text=octocat/repo-40")
    page.check("input[value='octocat/repo-40']")
    page.check("input[name=events][value=issues]")
    snap(page, "accounts-repositories")
    page.click("#send-events")
    page.wait_for_selector(".repo-hook[data-repo='octocat/repo-40']")
    assert "now sends push, pull_request, issues events" in page.text_content(".messages")
    snap(page, "accounts-repository-connected")
    hook = RepositoryHook.objects.get()
    assert fake_github.hooks[hook.hook_id]["events"] == ["push", "pull_request", "issues"]
    assert fake_github.hooks[hook.hook_id]["config"]["url"].endswith(f"/webhooks/{hook.source_id}/")
