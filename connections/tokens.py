"""Tokens of users' linked accounts: captured from allauth into encrypted storage, refreshed
without races, revoked on unlink.

Contracts:
- ``capture(sociallogin)`` (allauth signals): store the login's access/refresh token and expiry
  in the account's ``AccountToken`` (creating it and its ``linked_user`` Connection), status
  valid. allauth's own SocialToken table is never written (SOCIALACCOUNT_STORE_TOKENS=False).
- ``linked_user_token(connection)``: the owner's access token, refreshed first when it expires
  within HUB_TOKEN_REFRESH_MARGIN. ``refresh(token, after=None)`` refreshes under a row lock:
  concurrent callers wait for the one refresh and all use its result (a GitHub refresh token is
  single-use, so a second refresh with the same one would fail and lock the user out). With
  ``after`` (a 401 seen at that time), a token already refreshed since is used as it is.
  A refused refresh marks the token "needs re-authorization" and its connection "needs
  attention", and raises AuthFailed.
"""

import logging
from datetime import timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .errors import AuthFailed, IntegrationError
from .models import AccountToken, Connection

logger = logging.getLogger(__name__)


class GitHubNotConfigured(IntegrationError):
    """No GitHub OAuth app is configured (admin > Social applications): nothing was sent."""


def github_app(request=None):
    """The GitHub OAuth app configured in the admin (allauth SocialApp), secret decrypted;
    raises GitHubNotConfigured when there is none for this site."""
    from allauth.socialaccount.adapter import get_adapter
    from allauth.socialaccount.models import SocialApp

    try:
        return get_adapter().get_app(request, provider="github")
    except SocialApp.DoesNotExist:
        raise GitHubNotConfigured(
            "GitHub sign-in is not set up: an administrator must add the hub's GitHub OAuth "
            "app (admin > Social applications)."
        ) from None


def capture(sociallogin) -> AccountToken | None:
    token, account = sociallogin.token, sociallogin.account
    if token is None or not token.token or account.pk is None:
        return None
    login = account.extra_data.get("login") or account.uid
    existing = AccountToken.objects.filter(account=account).select_related("connection").first()
    if existing is None:
        connection = Connection.objects.create(
            name=f"GitHub @{login}",
            provider=account.provider,
            owner=account.user,
            auth_scheme="linked_user",
            base_url=settings.GITHUB_API_URL,
        )
        existing = AccountToken(account=account, connection=connection)
    existing.access_token = token.token
    if token.token_secret:  # a login without a new refresh token keeps the old one
        existing.refresh_token = token.token_secret
    existing.expires_at = token.expires_at
    existing.status, existing.status_reason = AccountToken.Status.VALID, ""
    existing.save()
    if existing.connection.status == Connection.Status.NEEDS_ATTENTION:
        existing.connection.set_status(Connection.Status.HEALTHY, "re-authorized")
    return existing


def linked_user_token(connection) -> str:
    token = AccountToken.objects.filter(connection=connection).first()
    if token is None:
        raise AuthFailed(
            f"The connection '{connection.name}' has no linked account token; the owner must "
            "link the account again.",
            connection=connection,
        )
    _usable(token)
    if token.expiring():
        token = refresh(token)
    return token.access_token


def _usable(token: AccountToken) -> None:
    if token.status in (AccountToken.Status.REFRESH_FAILED, AccountToken.Status.REVOKED):
        raise AuthFailed(
            f"The linked GitHub account needs re-authorization ({token.status_reason}); its "
            "owner must re-authorize it on the Linked accounts page.",
            connection=token.connection,
        )


def refresh(token: AccountToken, after=None) -> AccountToken:
    failure = None
    with transaction.atomic():
        current = AccountToken.objects.select_for_update().get(pk=token.pk)
        _usable(current)
        if after is None:
            fresh_enough = not current.expiring()
        else:
            fresh_enough = current.refreshed_at is not None and current.refreshed_at > after
        if fresh_enough:
            return current  # another caller refreshed while we waited for the lock
        if current.refresh_token:
            answer = _post_refresh(current, github_app())  # not set up: raises, changes nothing
            status = AccountToken.Status.REFRESH_FAILED
            failure = f"GitHub refused the refresh ({answer.get('error', 'no access token')})"
        else:  # a token that cannot be refreshed was refused: revoked at GitHub, or expired
            answer, status = {}, AccountToken.Status.REVOKED
            failure = "GitHub no longer accepts the token (revoked or expired)"
        if "access_token" not in answer:
            AccountToken.objects.filter(pk=current.pk).update(status=status, status_reason=failure)
            current.connection.mark_needs_attention(
                f"linked account needs re-authorization: {failure}"
            )
        else:
            failure = None
            now = timezone.now()
            current.access_token = answer["access_token"]
            current.refresh_token = answer.get("refresh_token") or current.refresh_token
            expires_in = answer.get("expires_in")
            current.expires_at = now + timedelta(seconds=int(expires_in)) if expires_in else None
            current.refreshed_at = now
            current.status, current.status_reason = AccountToken.Status.VALID, ""
            current.save()
    if failure:
        raise AuthFailed(
            f"The linked GitHub account needs re-authorization: {failure}.",
            connection=token.connection,
        )
    logger.info("connections.tokens.refreshed", extra={"account_token_id": current.pk})
    return current


def _post_refresh(token: AccountToken, app) -> dict:
    try:
        response = requests.post(
            f"{settings.GITHUB_URL}/login/oauth/access_token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": token.refresh_token,
                "client_id": app.client_id,
                "client_secret": app.secret,
            },
            headers={"Accept": "application/json"},
            timeout=(3.05, 15),
        )
        return response.json() if response.ok else {"error": f"HTTP {response.status_code}"}
    except (requests.RequestException, ValueError) as exc:
        return {"error": type(exc).__name__}


def revoke(token: AccountToken) -> bool:
    """Revoke the grant at GitHub (best effort, short timeout); True if GitHub confirmed,
    False when it could not be reached or no GitHub app is configured to ask with."""
    try:
        app = github_app()
    except GitHubNotConfigured:
        return False
    try:
        response = requests.delete(
            f"{settings.GITHUB_API_URL}/applications/{app.client_id}/grant",
            auth=(app.client_id, app.secret),
            json={"access_token": token.access_token},
            headers={"Accept": "application/vnd.github+json"},
            timeout=(3.05, 10),
        )
    except requests.RequestException:
        return False
    return response.status_code in (204, 404)
