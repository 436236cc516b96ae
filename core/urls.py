"""The hub's own public address, for links that leave the hub (receiving URLs, alert mails)."""

from django.conf import settings


def public_url(path: str = "", request=None) -> str:
    """``HUB_PUBLIC_URL`` + ``path``; without that setting, the request's origin, else the local
    server's (``http://127.0.0.1:<HUB_PORT>``)."""
    base = settings.HUB_PUBLIC_URL
    if not base and request is not None:
        base = f"{request.scheme}://{request.get_host()}"
    return (base or f"http://127.0.0.1:{settings.HUB_PORT}") + path
