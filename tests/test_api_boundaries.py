"""Management API boundaries: secrets never cached, docs for staff only, bad input is a 400."""

import pytest
from django.contrib.auth.models import Group

pytestmark = pytest.mark.django_db


def test_answers_that_carry_a_secret_are_not_stored_by_caches(api_client):
    created = api_client.post("/api/v1/sources/", {"name": "Shop", "provider": "github"})
    assert created.status_code == 201 and created.json()["secret"]
    assert created["Cache-Control"] == "no-store"
    rotated = api_client.post(f"/api/v1/sources/{created.json()['id']}/rotate-secret/", {})
    assert rotated.status_code == 200 and rotated.json()["secret"]
    assert rotated["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_api_schema_and_docs_are_for_staff_only(client, django_user_model, roles, path):
    end_user = django_user_model.objects.create_user("eve", password="pw-eve-12345")
    end_user.groups.add(Group.objects.get(name="end users"))
    client.force_login(end_user)
    assert client.get(path).status_code == 403
    support = django_user_model.objects.create_user("sue", password="pw-sue-12345")
    support.groups.add(Group.objects.get(name="support"))
    client.force_login(support)
    assert client.get(path).status_code == 200


def test_the_schema_names_its_enums(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    names = set(schema["components"]["schemas"])
    assert "DeliveryStatusEnum" in names and not any("C0d" in n for n in names)
