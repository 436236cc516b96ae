"""Built-in handlers. A handler is ``handler(event: webhooks.events.Event) -> None``; it runs
inside the transaction that records the delivery's outcome, so its database writes commit
together with it or not at all. Raise to retry; raise webhooks.errors.PermanentError to give
up at once."""
