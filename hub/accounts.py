"""Account pages: the user's linked GitHub accounts, their repositories, and the repository
webhooks the hub registered.

A token acts only for its owner: every page here shows and acts on the signed-in user's own
accounts and hooks, whatever their role (anyone else's id answers 404). Staff see linked
accounts' status in the admin and on the dashboard, never act with them.
"""

from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from connections import tokens
from connections.errors import AuthFailed, IntegrationError
from connections.models import AccountToken
from providers.github import hooks as github_hooks
from webhooks.models import RepositoryHook


def _accounts(user):
    """The user's own linked GitHub accounts (never anyone else's, whatever the role)."""
    return SocialAccount.objects.filter(provider="github", user=user).select_related(
        "user", "hub_token__connection"
    )


def _hooks(user):
    """Repository webhooks registered with the user's own tokens."""
    return RepositoryHook.objects.select_related("source", "connection", "owner").filter(
        owner=user, connection__account_token__account__user=user
    )


@login_required
def linked_accounts(request):
    accounts = list(_accounts(request.user).order_by("user__username", "pk"))
    hooks_by_connection = {}
    for hook in _hooks(request.user):
        hooks_by_connection.setdefault(hook.connection_id, []).append(hook)
    rows = []
    for account in accounts:
        token = getattr(account, "hub_token", None)
        rows.append(
            {
                "account": account,
                "token": token,
                "login": account.extra_data.get("login", account.uid),
                "avatar": account.extra_data.get("avatar_url", ""),
                "hooks": hooks_by_connection.get(token.connection_id, []) if token else [],
            }
        )
    return render(
        request,
        "accounts/linked.html",
        {
            "rows": rows,
            "reauthorize_scope": ",".join(settings.GITHUB_SCOPES),
            "github_ready": _github_ready(),
        },
    )


def github_login(request):
    """allauth's GitHub sign-in entry (``/accounts/github/login/``) and its callback, once an
    admin has configured the GitHub OAuth app; before that, a page that says so (404) instead of
    allauth's SocialApp.DoesNotExist."""
    if not _github_ready():
        return render(request, "accounts/github_not_configured.html", status=404)
    from allauth.socialaccount.providers.github.views import oauth2_login

    return oauth2_login(request)


def github_callback(request):
    if not _github_ready():
        return render(request, "accounts/github_not_configured.html", status=404)
    from allauth.socialaccount.providers.github.views import oauth2_callback

    return oauth2_callback(request)


def _github_ready() -> bool:
    """Whether an admin has configured the GitHub OAuth app (allauth's SocialApp) for this
    site; without it the page explains instead of offering buttons that cannot work."""
    from allauth.socialaccount.models import SocialApp

    return SocialApp.objects.on_site(None).filter(provider="github").exists()


@login_required
@require_POST
def unlink(request, account_id):
    """Remove the repository webhooks at GitHub, revoke the grant, then delete the account, its
    token and connection here in one transaction. What GitHub could not be told is said, with
    what to do by hand; nothing is left half-deleted here."""
    account = get_object_or_404(_accounts(request.user), pk=account_id)
    token = AccountToken.objects.filter(account=account).select_related("connection").first()
    not_removed, revoked = [], True
    if token is not None:
        for hook in RepositoryHook.objects.filter(connection=token.connection):
            if not github_hooks.disconnect(hook):
                not_removed.append(hook.repo)
        revoked = tokens.revoke(token)
    login = account.extra_data.get("login", account.uid)
    with transaction.atomic():
        if token is not None:
            token.connection.delete()
        account.delete()
    messages.success(request, f"Unlinked GitHub account @{login}; its token was deleted here.")
    if not revoked:
        messages.warning(
            request,
            "GitHub was not told to revoke the hub's access (it could not be reached, or GitHub "
            "sign-in is not set up): revoke it at GitHub under Settings > Applications > "
            "Authorized OAuth Apps.",
        )
    if not_removed:
        messages.warning(
            request, f"Remove these webhooks at GitHub by hand: {', '.join(not_removed)}."
        )
    return redirect("linked-accounts")


def _token(user, account_id) -> AccountToken:
    """The user's own token of that linked account, else 404."""
    return get_object_or_404(
        AccountToken.objects.select_related("connection", "account").filter(account__user=user),
        account_id=account_id,
    )


@login_required
def repositories(request, account_id):
    token = _token(request.user, account_id)
    raw_page = request.GET.get("page", "1")
    page = max(1, int(raw_page)) if raw_page.isdigit() else 1
    context = {"token": token, "page": page, "repos": [], "events": github_hooks.AVAILABLE_EVENTS}
    try:
        response = token.connection.client().get(
            "/user/repos", params={"per_page": 30, "page": page, "sort": "updated"}
        )
    except AuthFailed as exc:
        messages.error(request, f"{exc} Use Re-authorize on the Linked accounts page.")
        return redirect("linked-accounts")
    except IntegrationError as exc:
        context["error"] = str(exc)
        return render(request, "accounts/repositories.html", context, status=502)
    scopes = response.headers.get("X-OAuth-Scopes")
    if scopes is not None and scopes != token.scopes:
        AccountToken.objects.filter(pk=token.pk).update(scopes=scopes)
    connected = set(
        RepositoryHook.objects.filter(connection=token.connection).values_list("repo", flat=True)
    )
    context.update(
        repos=response.json(),
        connected=connected,
        has_next="next" in response.links,
        default_events=github_hooks.DEFAULT_EVENTS,
    )
    return render(request, "accounts/repositories.html", context)


@login_required
@require_POST
def connect_repository(request, account_id):
    token = _token(request.user, account_id)
    repo = request.POST.get("repo", "").strip()
    try:
        github_hooks.parse_repository(repo)
    except github_hooks.BadRepository as exc:
        messages.error(request, str(exc))
        return redirect("linked-repositories", account_id=account_id)
    try:
        hook = github_hooks.connect(
            token.connection, request.user, repo, request.POST.getlist("events"), request
        )
    except IntegrationError as exc:
        messages.error(request, f"GitHub did not create the webhook for {repo}: {exc}")
        return redirect("linked-repositories", account_id=account_id)
    messages.success(
        request,
        f"{repo} now sends {', '.join(hook.events)} events to the hub (webhook {hook.hook_id}).",
    )
    return redirect("linked-accounts")


@login_required
@require_POST
def disconnect_repository(request, hook_id):
    hook = get_object_or_404(_hooks(request.user), pk=hook_id)
    repo = hook.repo
    if github_hooks.disconnect(hook):
        messages.success(request, f"{repo} no longer sends events; its webhook was removed.")
    else:
        messages.warning(
            request,
            f"Stopped receiving from {repo}, but GitHub could not be told: remove the "
            "webhook in the repository's settings.",
        )
    return redirect("linked-accounts")
