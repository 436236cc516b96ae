"""End users link GitHub accounts (django-allauth) against a fake GitHub; the hub keeps their
tokens encrypted, refreshes them without races and acts for them through the client."""

import threading
import uuid
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from allauth.socialaccount.models import SocialAccount, SocialToken
from django.db import connection as db
from django.utils import timezone

from connections import tokens
from connections.errors import AuthFailed
from connections.models import AccountToken, CallRecord, Connection
from providers.github import hooks as github_hooks
from webhooks.models import Delivery, RedeliveryRequest, RepositoryHook, Source

from . import signers

pytestmark = pytest.mark.django_db


def _oauth_dance(client, fake, process="login"):
    """Start at the hub, let the fake GitHub approve, come back to the callback."""
    start = client.post(
        "/accounts/github/login/" + ("?process=connect" if process == "connect" else "")
    )
    assert start.status_code == 302, start.content
    authorize = requests.get(start["Location"], allow_redirects=False, timeout=5)
    callback = urlsplit(authorize.headers["Location"])
    return client.get(callback.path, dict(parse_qsl(callback.query)))


@pytest.mark.parametrize("mode", ["form", "json", "json_refresh"])
def test_sign_in_with_github_stores_the_token_encrypted(client, fake_github, mode):
    fake_github.token_mode = mode
    response = _oauth_dance(client, fake_github)
    assert response.status_code == 302 and response["Location"] == "/"  # home: by role
    account = SocialAccount.objects.get(provider="github")
    assert account.extra_data["login"] == "octocat"
    token = AccountToken.objects.get(account=account)
    assert token.access_token.startswith("gho_fake")
    assert not SocialToken.objects.exists()  # allauth's plaintext table stays empty
    with db.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM connections_accounttoken")
        raw_access, raw_refresh = cursor.fetchone()
    assert token.access_token not in raw_access and raw_access.startswith("gAAAA")
    if mode == "json_refresh":
        assert token.refresh_token.startswith("ghr_") and token.refresh_token not in raw_refresh
        assert token.expires_at > timezone.now() + timedelta(hours=7)
    else:
        assert token.refresh_token == "" and token.expires_at is None
    assert token.connection.auth_scheme == "linked_user"
    assert token.connection.owner == account.user
    page = client.get("/accounts/linked/").content.decode()
    assert "@octocat" in page and "Valid" in page


def test_link_to_a_signed_in_user_and_see_only_your_own(client, fake_github, django_user_model):
    alice = django_user_model.objects.create_user("alice", password="pw-alice-1234")
    client.force_login(alice)
    response = _oauth_dance(client, fake_github, process="connect")
    assert response["Location"] == "/accounts/linked/"
    assert SocialAccount.objects.get().user == alice
    bob = django_user_model.objects.create_user("bob", password="pw-bob-12345")
    client.force_login(bob)
    page = client.get("/accounts/linked/").content.decode()
    assert "@octocat" not in page and "No GitHub account is linked yet" in page
    account = SocialAccount.objects.get()
    assert client.get(f"/accounts/linked/{account.pk}/repositories/").status_code == 404
    assert client.post(f"/accounts/linked/{account.pk}/unlink/").status_code == 404


def test_cancel_at_github_ends_on_a_clear_page(client, fake_github):
    fake_github.deny = True
    response = _oauth_dance(client, fake_github)
    assert response["Location"] == "/accounts/3rdparty/login/cancelled/"
    response = client.get(response["Location"])
    assert response.status_code == 200
    assert "cancel" in response.content.decode().lower()
    assert not SocialAccount.objects.exists()


def test_a_replayed_state_is_refused_cleanly(client, fake_github):
    start = client.post("/accounts/github/login/")
    authorize = requests.get(start["Location"], allow_redirects=False, timeout=5)
    callback = urlsplit(authorize.headers["Location"])
    client.get(callback.path, dict(parse_qsl(callback.query)))
    client.logout()
    again = client.get(callback.path, dict(parse_qsl(callback.query)))
    assert again.status_code in (200, 401)
    assert "Traceback" not in again.content.decode()


@pytest.fixture
def linked(client, fake_github, django_user_model):
    user = django_user_model.objects.create_user("carol", password="pw-carol-1234")
    client.force_login(user)
    fake_github.token_mode = "json_refresh"
    _oauth_dance(client, fake_github, process="connect")
    return AccountToken.objects.select_related("connection", "account").get()


def test_repositories_are_listed_page_by_page_through_the_client(client, linked, fake_github):
    first = client.get(f"/accounts/linked/{linked.account_id}/repositories/")
    page = first.content.decode()
    assert "octocat/repo-00" in page and "octocat/repo-29" in page and "octocat/repo-30" not in page
    assert 'id="next-page"' in page
    second = client.get(f"/accounts/linked/{linked.account_id}/repositories/", {"page": 2})
    assert "octocat/repo-44" in second.content.decode()
    assert 'id="next-page"' not in second.content.decode()
    from connections import recorder

    recorder.flush()
    assert (
        CallRecord.objects.filter(connection=linked.connection, path="/api/v3/user/repos").count()
        == 2
    )
    linked.refresh_from_db()
    assert "admin:repo_hook" in linked.scopes


def test_connect_a_repository_registers_its_webhook_and_receives(client, linked, fake_github):
    response = client.post(
        f"/accounts/linked/{linked.account_id}/repositories/connect/",
        {"repo": "octocat/repo-03", "events": ["push", "issues"]},
    )
    assert response.status_code == 302
    hook = RepositoryHook.objects.get()
    created = fake_github.hooks[hook.hook_id]
    source = hook.source
    assert created["config"]["url"] == f"http://testserver/webhooks/{source.pk}/"
    assert created["config"]["secret"] == source.secret
    assert created["config"]["content_type"] == "json" and created["events"] == ["push", "issues"]
    # GitHub's ping, signed with the secret it was given, is accepted by the new source.
    body, headers = signers.make_github(
        created["config"]["secret"], str(uuid.uuid4()), signers.fixture("github/ping.json"), "ping"
    )
    ct = headers.pop("Content-Type")
    ping = client.post(f"/webhooks/{source.pk}/", body, content_type=ct, **signers.as_meta(headers))
    assert ping.status_code == 200
    page = client.get("/accounts/linked/").content.decode()
    assert "octocat/repo-03" in page
    client.post(f"/accounts/repository-hooks/{hook.pk}/disconnect/")
    assert hook.hook_id not in fake_github.hooks
    assert not Source.objects.get(pk=source.pk).enabled
    assert Delivery.objects.filter(source=source).exists()  # history stays


def test_unlink_revokes_at_github_and_deletes_the_token(client, linked, fake_github):
    client.post(
        f"/accounts/linked/{linked.account_id}/repositories/connect/", {"repo": "octocat/repo-01"}
    )
    access = linked.access_token
    response = client.post(f"/accounts/linked/{linked.account_id}/unlink/", follow=True)
    assert "Unlinked GitHub account @octocat" in response.content.decode()
    assert fake_github.revoked == [access]
    assert not fake_github.hooks
    assert not AccountToken.objects.exists() and not SocialAccount.objects.exists()
    assert not Connection.objects.filter(auth_scheme="linked_user").exists()


def test_an_expiring_token_is_refreshed_before_use(linked, fake_github):
    AccountToken.objects.filter(pk=linked.pk).update(
        expires_at=timezone.now() + timedelta(seconds=30)
    )
    old = linked.access_token
    linked.connection.client().get("/user")
    linked.refresh_from_db()
    assert fake_github.refresh_calls == 1
    assert linked.access_token != old and linked.expires_at > timezone.now() + timedelta(hours=7)


def test_a_401_refreshes_once_and_repeats_the_call(linked, fake_github):
    fake_github.valid_tokens.pop(linked.access_token)  # GitHub expired it early
    assert linked.connection.client().get("/user").json()["login"] == "octocat"
    assert fake_github.refresh_calls == 1


def test_a_refused_refresh_asks_the_user_to_reauthorize(client, linked, fake_github):
    fake_github.refresh_tokens.clear()  # the refresh token was revoked at GitHub
    AccountToken.objects.filter(pk=linked.pk).update(expires_at=timezone.now())
    with pytest.raises(AuthFailed, match="re-authorization"):
        linked.connection.client().get("/user")
    linked.refresh_from_db()
    assert linked.status == "refresh_failed"
    assert Connection.objects.get(pk=linked.connection_id).status == "needs_attention"
    page = client.get("/accounts/linked/").content.decode()
    assert "Needs re-authorization" in page
    # Re-authorizing stores a fresh token and clears both flags.
    _oauth_dance(client, fake_github, process="connect")
    linked.refresh_from_db()
    assert linked.status == "valid"
    assert Connection.objects.get(pk=linked.connection_id).status == "healthy"


@pytest.mark.production
@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_share_one_refresh(linked, fake_github):
    """Eight threads need a fresh token at once: GitHub sees one refresh (its refresh tokens
    are single-use), and every caller uses the result."""
    fake_github.refresh_delay = 0.3  # keep the refresh in flight while the others arrive
    AccountToken.objects.filter(pk=linked.pk).update(expires_at=timezone.now())
    barrier, results = threading.Barrier(8), []

    def call():
        try:
            barrier.wait()
            token = tokens.linked_user_token(Connection.objects.get(pk=linked.connection_id))
            results.append(token)
        finally:
            db.close()

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake_github.refresh_calls == 1
    assert len(results) == 8 and len(set(results)) == 1
    assert results[0] == AccountToken.objects.get(pk=linked.pk).access_token


def _logged(github_id, guid, status, delivered_at) -> dict:
    """An entry of GitHub's hook delivery log (GET /repos/{o}/{r}/hooks/{id}/deliveries)."""
    return {
        "id": github_id,
        "guid": guid,
        "status_code": status,
        "event": "push",
        "delivered_at": delivered_at.isoformat(),
        "redelivery": False,
    }


def test_redelivery_asks_github_once_for_what_was_lost(client, linked, fake_github):
    client.post(
        f"/accounts/linked/{linked.account_id}/repositories/connect/", {"repo": "octocat/repo-02"}
    )
    hook = RepositoryHook.objects.get()
    now = timezone.now()
    log = []
    for n, (status, stored) in enumerate(
        [(200, True), (200, True), (502, False), (0, False), (200, False)], start=1
    ):
        guid = str(uuid.uuid4())
        log.append(_logged(9000 + n, guid, status, now - timedelta(hours=n)))
        if stored:
            body, headers = signers.make_github(hook.source.secret, guid)
            ct = headers.pop("Content-Type")
            client.post(
                f"/webhooks/{hook.source_id}/", body, content_type=ct, **signers.as_meta(headers)
            )
    log.append(_logged(8000, str(uuid.uuid4()), 502, now - timedelta(days=4)))  # too old
    fake_github.deliveries[hook.hook_id] = log
    assert github_hooks.redeliver_missed(hook) == 3
    assert sorted(d for _, d in fake_github.redelivered) == [9003, 9004, 9005]
    assert github_hooks.redeliver_missed(hook) == 0  # a second run asks for nothing
    assert len(fake_github.redelivered) == 3
    # GitHub redelivers one of them: the next run marks it recovered.
    lost = log[4]["guid"]
    body, headers = signers.make_github(hook.source.secret, lost)
    ct = headers.pop("Content-Type")
    client.post(f"/webhooks/{hook.source_id}/", body, content_type=ct, **signers.as_meta(headers))
    github_hooks.redeliver_missed(hook)
    assert Delivery.objects.get(external_id=lost).recovered_at is not None
    assert RedeliveryRequest.objects.get(guid=lost).recovered_at is not None
    assert RedeliveryRequest.objects.filter(recovered_at__isnull=True).count() == 2


def test_the_oauth_app_secret_is_write_only_and_encrypted(client, admin_user, fake_github):
    from allauth.socialaccount.models import SocialApp

    client.force_login(admin_user)
    app = SocialApp.objects.get()
    page = client.get(f"/admin/socialaccount/socialapp/{app.pk}/change/").content.decode()
    assert "hub-client-secret" not in page and app.secret not in page


def test_a_refused_token_that_cannot_be_refreshed_shows_revoked(
    client, fake_github, django_user_model
):
    user = django_user_model.objects.create_user("erin", password="pw-erin-12345")
    client.force_login(user)
    fake_github.token_mode = "form"  # an OAuth App token: no refresh token, no expiry
    _oauth_dance(client, fake_github, process="connect")
    token = AccountToken.objects.get()
    fake_github.valid_tokens.pop(token.access_token)  # the user revoked it at GitHub
    with pytest.raises(AuthFailed, match="revoked or expired"):
        token.connection.client().get("/user")
    token.refresh_from_db()
    assert token.status == "revoked"
    assert "Revoked" in client.get("/accounts/linked/").content.decode()


def test_the_page_explains_when_github_is_not_configured(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("fay", password="pw-fay-12345"))
    page = client.get("/accounts/linked/")
    assert page.status_code == 200
    assert 'id="github-not-configured"' in page.content.decode()
