from __future__ import annotations

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from ctip.accounts.models import RoleAssignment, User
from ctip.core.models import AuditEvent
from tests.helpers import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int, int]:
    return User.objects.count(), RoleAssignment.objects.count(), AuditEvent.objects.count()


def test_cli_adds_a_user_with_a_role_in_several_areas(capsys):
    call_command(
        "user",
        "add",
        "sokha",
        "--role",
        "facilitator",
        "--area",
        "200103,200104",
        "--password",
        PASSWORD,
    )
    user = User.objects.get(username="sokha")
    assert sorted(user.assignments.values_list("area__code", flat=True)) == ["200103", "200104"]
    assert user.check_password(PASSWORD)
    assert "created: sokha as facilitator" in capsys.readouterr().out
    event = AuditEvent.objects.get(action="create", object_type="accounts.user")
    assert event.actor_username.startswith("cli:")
    assert event.changes["assignments"]["after"] == [
        "facilitator@KH-200103",
        "facilitator@KH-200104",
    ]


def test_cli_country_and_qualified_codes():
    call_command(
        "user",
        "add",
        "lan",
        "--role",
        "programme_manager",
        "--area",
        "VN,KH-20",
        "--password",
        PASSWORD,
    )
    codes = set(
        User.objects.get(username="lan").assignments.values_list("area__country", "area__code")
    )
    assert codes == {("VN", "VN"), ("KH", "20")}


@pytest.mark.parametrize(
    ("area", "message"),
    [
        ("99999999", "No area has the code 99999999"),
        ("01", "ambiguous"),
        ("200103,nope", "No area has the code nope"),
        (",", "at least one area"),
    ],
)
def test_cli_bad_area_is_a_clear_error_and_writes_nothing(area, message):
    before = _counts()
    with pytest.raises(CommandError, match=message):
        call_command(
            "user", "add", "x", "--role", "facilitator", "--area", area, "--password", PASSWORD
        )
    assert _counts() == before


def test_cli_rejects_weak_password_and_taken_username():
    make_user("taken", "facilitator", "200103")
    before = _counts()
    with pytest.raises(CommandError, match="username: The username taken is taken"):
        call_command(
            "user", "add", "taken", "--role", "donor", "--area", "KH", "--password", PASSWORD
        )
    with pytest.raises(CommandError, match="password:"):
        call_command("user", "add", "new", "--role", "donor", "--area", "KH", "--password", "123")
    assert _counts() == before


def test_token_authenticates_the_api_and_bad_tokens_are_refused(client, capsys):
    make_user("api", "me_officer", "KH")
    call_command("token", "api")
    key = capsys.readouterr().out.strip()
    assert Token.objects.get(user__username="api").key == key
    me = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}")
    assert me.status_code == 200
    assert me.json()["assignments"][0]["role"] == "me_officer"
    assert "persons.view" in me.json()["permissions"]
    for header in ("Token", "Token a b", "Token " + "0" * 40, "Bearer " + key):
        response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header
        assert response.json()["detail"]


def test_token_refused_for_unknown_user_or_user_without_areas():
    User.objects.create_user(username="lonely", password=PASSWORD)
    with pytest.raises(CommandError, match="no role in any area"):
        call_command("token", "lonely")
    with pytest.raises(CommandError, match="No user is called ghost"):
        call_command("token", "ghost")
    assert not Token.objects.exists()


def test_sign_in_then_lockout_after_repeated_failures(client):
    make_user("dara", "facilitator", "200103")
    ok = client.post("/accounts/login/", {"username": "dara", "password": PASSWORD})
    assert ok.status_code == 302
    client.logout()
    for _ in range(5):
        client.post("/accounts/login/", {"username": "dara", "password": "wrong"})
    locked = client.post("/accounts/login/", {"username": "dara", "password": PASSWORD})
    assert locked.status_code == 429
    assert "locked" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_passwords_are_hashed_with_argon2():
    from django.contrib.auth.hashers import make_password

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.Argon2PasswordHasher"]):
        assert make_password("x").startswith("argon2")


def _confirmed_device(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def test_second_factor_is_asked_when_the_user_has_one(client):
    user = make_user("vanna", "provincial_officer", "KH-20")
    device = _confirmed_device(user)
    client.post("/accounts/login/", {"username": "vanna", "password": PASSWORD})
    assert client.get("/").url == "/accounts/2fa/verify/"
    assert client.get("/api/v1/me/").status_code == 403
    bad = client.post("/accounts/2fa/verify/", {"token": "000000"})
    assert bad.status_code == 200 and "not right" in bad.content.decode()
    # A failure throttles the device for a moment; let that moment pass.
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    assert client.post("/accounts/2fa/verify/", {"token": code}).status_code == 302
    assert client.get("/").status_code == 200


@override_settings(CTIP_REQUIRE_2FA_ROLES=["administrator"])
def test_administrators_must_set_up_a_second_factor_when_required(client):
    admin = make_user("root2", "administrator", "KH")
    client.force_login(admin)
    assert client.get("/accounts/users/").url == "/accounts/2fa/setup/"
    page = client.get("/accounts/2fa/setup/")
    assert page.status_code == 200 and "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=admin, confirmed=False)
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    assert client.post("/accounts/2fa/setup/", {"token": code}).status_code == 302
    assert client.get("/accounts/users/").status_code == 200
    facilitator = make_user("fac2", "facilitator", "200103")
    client.force_login(facilitator)
    assert client.get("/").status_code == 200


def test_administrator_creates_a_user_in_the_web_app(client, django_capture_on_commit_callbacks):
    admin = make_user("admin", "administrator", "KH")
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/users/new/",
            {
                "username": "Mom",
                "first_name": "Sreymom",
                "email": "mom@example.org",
                "language": "km",
                "role": "facilitator",
                "areas": "200103",
            },
        )
    user = User.objects.get(username="mom")
    assert response.url == f"/accounts/users/{user.pk}/"
    assert not user.has_usable_password()
    assert user.assignments.get().area.code == "200103"
    assert len(mail.outbox) == 1 and "/accounts/password-reset/" in mail.outbox[0].body
    # The invitation speaks the new user's language, not the administrator's.
    assert mail.outbox[0].subject == "គណនី ctip របស់អ្នក"


def test_administrator_cannot_grant_outside_their_areas(client):
    admin = make_user("khadmin", "administrator", "KH")
    client.force_login(admin)
    before = _counts()
    response = client.post(
        "/accounts/users/new/",
        {
            "username": "vnuser",
            "password": PASSWORD,
            "language": "vi",
            "role": "facilitator",
            "areas": "VN",
        },
    )
    assert response.status_code == 403
    assert _counts() == before


def test_user_form_names_the_bad_area(client):
    client.force_login(make_user("admin", "administrator", "KH"))
    response = client.post(
        "/accounts/users/new/",
        {
            "username": "u1",
            "password": PASSWORD,
            "language": "en",
            "role": "facilitator",
            "areas": "2001, 77777",
        },
    )
    assert response.status_code == 200
    assert "No area has the code 77777" in response.content.decode()
    assert not User.objects.filter(username="u1").exists()


@pytest.mark.parametrize(
    "role", ["programme_manager", "me_officer", "provincial_officer", "facilitator", "donor"]
)
def test_only_administrators_manage_users(client, role):
    target = make_user("target", "facilitator", "200103")
    client.force_login(make_user("someone", role, "KH"))
    before = _counts()
    assert client.get("/accounts/users/").status_code == 403
    assert client.get(f"/accounts/users/{target.pk}/").status_code == 403
    assert client.post(f"/accounts/users/{target.pk}/deactivate/").status_code == 403
    assert (
        client.post(
            "/accounts/users/new/",
            {
                "username": "z",
                "password": PASSWORD,
                "role": "administrator",
                "areas": "KH",
                "language": "en",
            },
        ).status_code
        == 403
    )
    assert _counts() == before
    target.refresh_from_db()
    assert target.is_active


def test_deactivate_revoke_and_history(client):
    admin = make_user("admin", "administrator", "KH")
    target = make_user("target", "facilitator", "200103")
    Token.objects.create(user=target)
    client.force_login(admin)
    client.post(f"/accounts/users/{target.pk}/deactivate/")
    target.refresh_from_db()
    assert not target.is_active and not Token.objects.filter(user=target).exists()
    assignment = target.assignments.get()
    client.post(f"/accounts/users/{target.pk}/revoke/", {"assignment": assignment.pk})
    assert not target.assignments.exists()
    page = client.get(f"/accounts/users/{target.pk}/").content.decode()
    assert "role removed" in page and "changed" in page


def test_switching_language_is_remembered(client):
    user = make_user("lang", "facilitator", "200103")
    client.force_login(user)
    response = client.post("/accounts/language/", {"language": "vi", "next": "/"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "vi"
    assert 'lang="vi"' in client.get("/").content.decode()


def test_an_administrator_sees_only_users_of_their_own_areas(client):
    kh_admin = make_user("khadmin", "administrator", "KH")
    vn_user = make_user("vnfac", "facilitator", "VN-80")
    kh_user = make_user("khfac", "facilitator", "200103")
    client.force_login(kh_admin)
    listing = client.get("/accounts/users/").content.decode()
    assert "khfac" in listing and "vnfac" not in listing
    assert client.get(f"/accounts/users/{kh_user.pk}/").status_code == 200
    assert client.get(f"/accounts/users/{vn_user.pk}/").status_code == 404
    assert client.post(f"/accounts/users/{vn_user.pk}/deactivate/").status_code == 404
    vn_user.refresh_from_db()
    assert vn_user.is_active


def test_giving_a_role_in_several_areas_is_all_or_nothing(client):
    admin = make_user("admin", "administrator", "KH")
    target = make_user("target", "facilitator", "200104")
    client.force_login(admin)
    before = _counts()
    # 200103 is new, 200104 is already held: neither is given.
    response = client.post(
        f"/accounts/users/{target.pk}/", {"role": "facilitator", "areas": "200103, 200104"}
    )
    assert response.status_code == 200
    assert "already holds this role" in response.content.decode()
    assert _counts() == before
