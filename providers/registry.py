"""Every provider the hub knows: an explicit list, one line each, in the order pages list them.

Adding a provider is one folder (``providers/<key>/``, see docs/architecture.md) and one line
here. ``ProvidersConfig.ready()`` installs this list in ``core.catalog``, where the inbound and
outbound sides read it.
"""

from . import generic, github, gitlab, linear, shopify, slack, standard, stripe

PROVIDERS = (
    github.PROVIDER,
    stripe.PROVIDER,
    slack.PROVIDER,
    shopify.PROVIDER,
    standard.PROVIDER,
    gitlab.PROVIDER,
    linear.PROVIDER,
    generic.PROVIDER,
)
