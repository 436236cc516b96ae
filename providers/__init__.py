"""One folder per provider: ``providers/<key>/`` holds its receiver, handlers, API descriptor,
fixtures and tests; ``registry.py`` lists them. See docs/architecture.md, "Adding a provider"."""
