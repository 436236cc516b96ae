"""The README's production recipe passes Django's deploy checks; embedded data files are
private (the SQLite WAL holds API tokens)."""

import stat

from . import stack

PRODUCTION = {
    "DATABASE_URL": "postgres://hub@db.internal:5432/hub",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
    "CACHE_URL": "redis://redis.internal:6379/1",
    "DJANGO_SECRET_KEY": "x7$Hq!v2" * 8,
    "DJANGO_ALLOWED_HOSTS": "hooks.example.com",
    "HUB_PUBLIC_URL": "https://hooks.example.com",
    "DJANGO_SETTINGS_MODULE": "hub.settings",
}


def test_check_deploy_is_clean_for_the_production_recipe():
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; a deployment does not.
    env = stack.hub_env(**PRODUCTION, HUB_DATA_DIR=None, DJANGO_ALLOW_ASYNC_UNSAFE=None)
    out = stack.manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert "no issues" in out


def test_https_settings_follow_the_public_url():
    env = stack.hub_env(**{**PRODUCTION, "HUB_PUBLIC_URL": "http://127.0.0.1:8000"})
    out = stack.manage(
        "shell", "-c",
        "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)",
        env=env,
    )  # fmt: skip
    assert out.split()[-4:] == ["False", "False", "False", "0"]


def test_embedded_data_files_are_private(tmp_path):
    data = tmp_path / "data"
    env = stack.hub_env(
        HUB_DATA_DIR=data, DATABASE_URL=None, CACHE_URL=None, CELERY_BROKER_URL=None,
        HUB_ENCRYPTION_KEYS=None, DJANGO_SECRET_KEY=None, DJANGO_SETTINGS_MODULE=None,
    )  # fmt: skip
    stack.manage("migrate", "--noinput", env=env)
    stack.manage("shell", "-c", "from django.core.cache import cache; cache.set('k', 1)", env=env)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = [p for p in data.rglob("*") if p.is_file()]
    assert any(p.name == "hub.sqlite3-wal" or p.name == "hub.sqlite3" for p in files)
    loose = {str(p.relative_to(data)): oct(stat.S_IMODE(p.stat().st_mode)) for p in files
             if p.name.startswith(("hub.sqlite3", "broker.sqlite3", "django_secret", "hub_enc"))
             and stat.S_IMODE(p.stat().st_mode) & 0o077}  # fmt: skip
    assert loose == {}
