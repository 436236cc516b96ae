"""Make sure someone can log in to the admin (used by `make run`)."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create or update the superuser named by HUB_ADMIN_USER with HUB_ADMIN_PASSWORD; without "
        "them, create 'admin' with a random password printed once (only if no superuser exists)."
    )

    def handle(self, *args, **options):
        User = get_user_model()
        username = os.environ.get("HUB_ADMIN_USER")
        password = os.environ.get("HUB_ADMIN_PASSWORD")
        if username and password:
            user, created = User.objects.get_or_create(username=username)
            user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
            self.stdout.write(f"Admin account '{username}' {'created' if created else 'updated'}.")
            return
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write(
                "Log in with your admin account. Forgot the password? "
                ".venv/bin/python manage.py changepassword <user>"
            )
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "", password)
        self.stdout.write(
            self.style.WARNING(
                f"Created admin account 'admin' with password '{password}' (shown once; change "
                "it with `.venv/bin/python manage.py changepassword admin`, or set "
                "HUB_ADMIN_USER/HUB_ADMIN_PASSWORD next time)."
            )
        )
