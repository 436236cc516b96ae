"""One sign-in for the hub and the admin, with allauth's rate limits and lockout."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_admin_login_form_signs_nobody_in_and_points_to_the_hub_sign_in(client, admin_user):
    for _ in range(40):
        response = client.post("/admin/login/", {"username": "root", "password": "wrong"})
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    right = client.post("/admin/login/", {"username": "root", "password": "pw-root-1234"})
    assert right.status_code == 302 and right["Location"].startswith("/accounts/login/")
    assert client.get("/admin/").status_code == 302  # still signed out


def test_wrong_passwords_lock_the_account_out_of_the_one_sign_in(client, admin_user):
    for _ in range(6):
        client.post("/accounts/login/", {"login": "root", "password": "wrong-password"})
    locked = client.post("/accounts/login/", {"login": "root", "password": "pw-root-1234"})
    assert "Too many failed login attempts" in locked.content.decode()
    assert client.get("/admin/").status_code == 302


def test_staff_reach_the_admin_after_signing_in_once(client, admin_user):
    signed = client.post(
        "/accounts/login/?next=/admin/", {"login": "root", "password": "pw-root-1234"}
    )
    assert signed.status_code == 302 and signed["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
