"""The floor's one endpoint, ``POST /ingest/``: one INSERT of the raw body, then 202."""

from django.db import connection
from django.http import JsonResponse
from django.urls import path

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS bench_floor_delivery (
    id bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    body bytea NOT NULL
)
"""
CREATE_TABLE_SQLITE = """
CREATE TABLE IF NOT EXISTS bench_floor_delivery (
    id integer PRIMARY KEY AUTOINCREMENT,
    received_at text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    body blob NOT NULL
)
"""
INSERT = "INSERT INTO bench_floor_delivery (body) VALUES (%s) RETURNING id"
COUNT = "SELECT count(*) FROM bench_floor_delivery"


def create_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute(CREATE_TABLE_SQLITE if connection.vendor == "sqlite" else CREATE_TABLE)


def receive(request):
    if request.method != "POST":
        return JsonResponse({"status": "rejected", "error": "method_not_allowed"}, status=405)
    with connection.cursor() as cursor:
        cursor.execute(INSERT, [request.body])
        (row_id,) = cursor.fetchone()
    return JsonResponse({"id": row_id, "status": "queued"}, status=202)


urlpatterns = [path("ingest/", receive)]
