"""Account pages: the user's linked GitHub accounts, their repositories, and the repository
webhooks the hub registered. Users see their own; staff see everyone's."""

from allauth.socialaccount.models import SocialAccount
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from connections import tokens
from connections.errors import AuthFailed, IntegrationError
from connections.models import AccountToken
from webhooks import github_hooks
from webhooks.models import RepositoryHook

REAUTHORIZE_SCOPE = "read:user,user:email,repo,admin:repo_hook"


def _accounts(user):
    accounts = SocialAccount.objects.filter(provider="github").select_related(
        "user", "hub_token__connection"
    )
    return accounts if user.is_staff else accounts.filter(user=user)


def _hooks(user):
    hooks = RepositoryHook.objects.select_related("source", "connection", "owner")
    return hooks if user.is_staff else hooks.filter(owner=user)


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
        {"rows": rows, "reauthorize_scope": REAUTHORIZE_SCOPE, "github_ready": _github_ready()},
    )


def _github_ready() -> bool:
    """Whether an admin has configured the GitHub OAuth app (allauth's SocialApp) for this
    site; without it the page explains instead of offering buttons that cannot work."""
    from allauth.socialaccount.models import SocialApp

    return SocialApp.objects.on_site(None).filter(provider="github").exists()


@login_required
@require_POST
def unlink(request, account_id):
    account = get_object_or_404(_accounts(request.user), pk=account_id)
    token = AccountToken.objects.filter(account=account).select_related("connection").first()
    not_removed = []
    if token is not None:
        for hook in RepositoryHook.objects.filter(connection=token.connection):
            if not github_hooks.disconnect(hook):
                not_removed.append(hook.repo)
        revoked = tokens.revoke(token)
        token.connection.delete()
    else:
        revoked = True
    login = account.extra_data.get("login", account.uid)
    account.delete()
    messages.success(request, f"Unlinked GitHub account @{login}; its token was deleted here.")
    if not revoked:
        messages.warning(
            request,
            "GitHub could not be reached to revoke the grant; revoke it at GitHub under "
            "Settings > Applications > Authorized OAuth Apps.",
        )
    if not_removed:
        messages.warning(
            request, f"Remove these webhooks at GitHub by hand: {', '.join(not_removed)}."
        )
    return redirect("linked-accounts")


def _token(user, account_id) -> AccountToken:
    return get_object_or_404(
        AccountToken.objects.select_related("connection", "account").filter(
            Q(account__user=user) if not user.is_staff else Q()
        ),
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
    if "/" not in repo:
        messages.error(request, "Choose a repository (owner/name).")
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
