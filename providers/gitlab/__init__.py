"""GitLab: project and group webhooks, proven by their secret token."""

from core.catalog import Provider

from .receiver import GitLabReceiver

PROVIDER = Provider(key="gitlab", label="GitLab", receiver=GitLabReceiver())
