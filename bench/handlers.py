"""Webhook handlers of the benchmarks (registered by bench.settings_processing)."""


def noop(event):
    """Does nothing: the processing benchmark measures the hub's own cost per delivery."""
