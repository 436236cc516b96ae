"""The performance floor: a bare Django project that stores a webhook body with one INSERT.

Served like the hub (gunicorn, same database settings) so that the ingest benchmark can say how
close the hub comes to the least Django can do. Run with DJANGO_SETTINGS_MODULE=bench.floor.settings
and /work/main (the repository root) on PYTHONPATH.
"""
