"""Integration Hub: the Django project (settings, urls, Celery app, operator pages)."""

from .celery import app as celery_app

__all__ = ("celery_app",)
