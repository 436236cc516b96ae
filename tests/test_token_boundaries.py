"""A linked account's token acts only for its owner; repository names are checked against
GitHub's grammar before any URL is built; half-done actions either complete or change nothing.

Every request the hub makes is read back from the fake GitHub's log (tests/fake_github.py).
"""

import pytest
import responses
from allauth.socialaccount.models import SocialAccount, SocialApp
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from connections.client import api_path
from connections.errors import ClientError
from connections.models import AccountToken, Connection
from providers.github import hooks as github_hooks
from webhooks.models import RepositoryHook, Source

from .test_linked_accounts import _oauth_dance

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(django_user_model, roles):
    def user(name, group=None, **kw):
        u = django_user_model.objects.create_user(name, password=f"pw-{name}-12345", **kw)
        if group:
            u.groups.add(Group.objects.get(name=group))
        return u

    return {
        "owner": user("carol", "end users"),
        "other end user": user("dave", "end users"),
        "support": user("sue", "support", is_staff=True),
        "admin": user("ada", "admins", is_staff=True, is_superuser=True),
    }


@pytest.fixture
def linked(client, fake_github, people):
    client.force_login(people["owner"])
    fake_github.token_mode = "json_refresh"
    _oauth_dance(client, fake_github, process="connect")
    token = AccountToken.objects.select_related("connection", "account").get()
    client.post(
        f"/accounts/linked/{token.account_id}/repositories/connect/", {"repo": "octocat/repo-03"}
    )
    fake_github.requests.clear()
    client.logout()
    return token


def _api_paths(fake) -> list[str]:
    return [f"{method} {path}" for method, path, _ in fake.requests if "/api/v3/" in path]


ACTIONS = {
    "list repositories": lambda c, t, h: c.get(f"/accounts/linked/{t.account_id}/repositories/"),
    "connect a repository": lambda c, t, h: c.post(
        f"/accounts/linked/{t.account_id}/repositories/connect/", {"repo": "octocat/repo-04"}
    ),
    "disconnect a repository": lambda c, t, h: c.post(
        f"/accounts/repository-hooks/{h.pk}/disconnect/"
    ),
    "unlink": lambda c, t, h: c.post(f"/accounts/linked/{t.account_id}/unlink/"),
    "test in the admin": lambda c, t, h: c.post(
        f"/admin/connections/connection/{t.connection_id}/test/"
    ),
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("role", ["owner", "other end user", "support", "admin"])
def test_only_the_owner_acts_with_a_linked_token(client, linked, fake_github, people, role, action):
    hook = RepositoryHook.objects.get()
    state = _state()
    client.force_login(people[role])
    response = ACTIONS[action](client, linked, hook)
    if role == "owner" and action != "test in the admin":  # end users have no admin
        assert _api_paths(fake_github), f"the owner's {action} did not reach GitHub"
        return
    assert _api_paths(fake_github) == [], f"{role}'s {action} reached GitHub"
    assert response.status_code in (302, 403, 404), response.status_code
    assert _state() == state, f"{role}'s {action} changed something"


def _state():
    return (
        sorted(SocialAccount.objects.values_list("pk", flat=True)),
        sorted(AccountToken.objects.values_list("pk", flat=True)),
        sorted(RepositoryHook.objects.values_list("pk", flat=True)),
        sorted(Source.objects.filter(enabled=True).values_list("pk", flat=True)),
    )


@pytest.mark.parametrize("role", ["support", "admin"])
def test_staff_see_only_their_own_accounts_on_the_account_pages(client, linked, people, role):
    client.force_login(people[role])
    page = client.get("/accounts/linked/").content.decode()
    assert "@octocat" not in page and "octocat/repo-03" not in page


def test_the_api_cannot_test_or_redirect_a_linked_connection(linked, fake_github, people):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=people['admin']).key}")
    url = f"/api/v1/connections/{linked.connection_id}/"
    base_url = linked.connection.base_url
    assert api.post(url + "test/").status_code == 403
    moved = api.patch(url, {"base_url": "https://attacker.example.test"}, format="json")
    assert moved.status_code == 400 and "base_url" in moved.json()
    reowned = api.patch(url, {"owner": people["admin"].pk}, format="json")
    assert reowned.status_code == 400 and "owner" in reowned.json()
    assert api.post(url + "rotate-credentials/", {"credentials": "ghp_x"}).status_code == 400
    made = api.post(
        "/api/v1/connections/",
        {"name": "fake", "provider": "github", "auth_scheme": "linked_user"},
        format="json",
    )
    assert made.status_code == 400 and "auth_scheme" in made.json()
    attach = api.post(
        "/api/v1/sources/",
        {"name": "mine now", "provider": "github", "connection": linked.connection_id},
        format="json",
    )
    assert attach.status_code == 400 and "connection" in attach.json()
    renamed = api.patch(url, {"name": "Carol's GitHub"}, format="json")
    assert renamed.status_code == 200  # what stays editable
    assert _api_paths(fake_github) == []
    connection = Connection.objects.get(pk=linked.connection_id)
    assert connection.base_url == base_url and connection.owner == people["owner"]


def test_the_admin_cannot_redirect_a_linked_connection(client, linked, people):
    client.force_login(people["admin"])
    url = f"/admin/connections/connection/{linked.connection_id}/change/"
    form = {
        "name": "GitHub @octocat", "provider": "github", "enabled": "on",
        "owner": people["owner"].pk, "auth_scheme": "linked_user",
        "base_url": "https://attacker.example.test", "rate_limit": "",
    }  # fmt: skip
    response = client.post(url, form)
    assert response.status_code == 200 and "linked GitHub account" in response.content.decode()
    assert Connection.objects.get(pk=linked.connection_id).base_url == linked.connection.base_url


BAD_NAMES = [
    "x/../../user/keys?a=",
    "octocat/repo?x=1",
    "octocat/repo#frag",
    "octocat/re po",
    "octocat/",
    "/repo",
    "octocat/..",
    "octocat/%2e%2e",
    "-octocat/repo",
    "octo--cat/repo",
    "o" * 40 + "/repo",
    "octocat/" + "r" * 101,
    "octocat/repo/hooks",
    "",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_repository_names_are_refused_before_any_call(client, linked, fake_github, name):
    client.force_login(linked.account.user)
    response = client.post(
        f"/accounts/linked/{linked.account_id}/repositories/connect/", {"repo": name}, follow=True
    )
    assert response.status_code == 200
    assert "GitHub" in response.content.decode() or "owner/name" in response.content.decode()
    # Back on the repository list (GET /user/repos); nothing else was sent.
    assert [p for p in _api_paths(fake_github) if not p.startswith("GET /api/v3/user/repos?")] == []
    assert RepositoryHook.objects.count() == 1  # only the fixture's


def test_good_names_reach_only_their_repository(client, linked, fake_github):
    client.force_login(linked.account.user)
    client.post(
        f"/accounts/linked/{linked.account_id}/repositories/connect/",
        {"repo": "Octo-Cat/my.repo_1"},
    )
    assert _api_paths(fake_github) == ["POST /api/v3/repos/Octo-Cat/my.repo_1/hooks"]


def test_api_path_quotes_every_segment():
    assert api_path("repos", "a b", "c/d", 7) == "/repos/a%20b/c%2Fd/7"
    for bad in ("", ".", ".."):
        with pytest.raises(ValueError):
            api_path("repos", bad)


@responses.activate
def test_a_next_link_to_another_host_is_not_followed_with_credentials():
    responses.get(
        "https://api.stripe.com/v1/charges",
        json=[{"id": 1}],
        headers={"Link": '<https://evil.example.test/steal?page=2>; rel="next"'},
    )
    conn = Connection(name="Billing", provider="stripe")
    conn.set_credentials("sk_test_do_not_leak_123")
    conn.save()
    items = conn.client().paginate("/v1/charges")
    assert next(items) == {"id": 1}
    with pytest.raises(ClientError, match="evil.example.test"):
        next(items)
    assert [c.request.url for c in responses.calls] == ["https://api.stripe.com/v1/charges"]


def test_unlink_without_the_github_app_completes_and_says_what_is_left(client, linked, fake_github):
    SocialApp.objects.all().delete()  # the admin removed the OAuth app meanwhile
    client.force_login(linked.account.user)
    response = client.post(f"/accounts/linked/{linked.account_id}/unlink/", follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Unlinked GitHub account @octocat" in page and "revoke it at GitHub" in page
    assert not fake_github.hooks  # the webhook was removed with the owner's token
    assert not AccountToken.objects.exists() and not SocialAccount.objects.exists()


def test_github_sign_in_before_it_is_set_up_explains(client, django_user_model):
    for path in ("/accounts/github/login/", "/accounts/github/login/callback/?code=x&state=y"):
        response = client.get(path)
        assert response.status_code == 404
        assert "GitHub sign-in is not set up" in response.content.decode()
    client.force_login(django_user_model.objects.create_user("gus", password="pw-gus-12345"))
    page = client.get("/accounts/linked/").content.decode()
    assert "Ask an administrator" in page and "see the README" not in page


def test_a_refresh_without_the_github_app_changes_nothing(linked):
    from datetime import timedelta

    from django.utils import timezone

    from connections import tokens

    SocialApp.objects.all().delete()
    AccountToken.objects.filter(pk=linked.pk).update(expires_at=timezone.now())
    with pytest.raises(tokens.GitHubNotConfigured):
        linked.connection.client().get("/user")
    linked.refresh_from_db()
    assert linked.status == "valid"
    assert linked.expires_at < timezone.now() + timedelta(seconds=5)


def test_redelivery_ids_from_github_are_checked(linked, fake_github):
    hook = RepositoryHook.objects.get()
    from django.utils import timezone

    fake_github.deliveries[hook.hook_id] = [
        {"id": "1/../../x", "guid": "g-1", "status_code": 502, "event": "push",
         "delivered_at": timezone.now().isoformat(), "redelivery": False}
    ]  # fmt: skip
    with pytest.raises(ValueError, match="not a number"):
        github_hooks.redeliver_missed(hook)
    assert not [p for p in _api_paths(fake_github) if "attempts" in p]
