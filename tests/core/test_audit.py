from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from ctip.core import audit
from ctip.core.models import AuditEvent
from tests.helpers import make_user

pytestmark = pytest.mark.django_db


def _drop_append_only_triggers() -> None:
    """Simulate an attacker with direct database access (inside the test's transaction)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER core_auditevent_no_update")
            cursor.execute("DROP TRIGGER core_auditevent_no_delete")
        else:
            cursor.execute("DROP TRIGGER core_auditevent_no_change ON core_auditevent")


def _three_events() -> list[AuditEvent]:
    return [
        audit.record(actor="tester", action=f"step{i}", object_type="t.thing", object_id=i)
        for i in range(3)
    ]


def test_events_chain_and_verify_passes(capsys):
    events = _three_events()
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    result = audit.verify()
    assert result.ok and result.checked >= 3
    call_command("audit", "verify")
    assert "audit trail intact" in capsys.readouterr().out


@pytest.mark.parametrize(
    "statement", ["UPDATE core_auditevent SET action = 'x'", "DELETE FROM core_auditevent"]
)
def test_database_refuses_to_change_events(statement):
    _three_events()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEvent.objects.filter(action__startswith="step").count() == 3


def test_orm_update_and_delete_are_refused():
    event = _three_events()[0]
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        event.delete()


def test_verify_finds_an_edited_event():
    events = _three_events()
    _drop_append_only_triggers()
    AuditEvent.objects.filter(pk=events[1].pk).update(object_id="999")
    result = audit.verify()
    assert not result.ok
    assert result.broken_at == events[1].pk
    assert "hash" in result.reason
    with pytest.raises(CommandError, match=f"BROKEN at event {events[1].pk}"):
        call_command("audit", "verify")


def test_verify_finds_a_removed_event_and_a_truncated_tail():
    events = _three_events()
    _drop_append_only_triggers()
    AuditEvent.objects.filter(pk=events[1].pk).delete()
    result = audit.verify()
    assert not result.ok and result.broken_at == events[2].pk
    AuditEvent.objects.filter(pk=events[2].pk).delete()
    result = audit.verify()
    assert not result.ok and result.broken_at is None
    assert "were written" in result.reason


def test_sensitive_values_are_masked():
    changes = audit.diff(
        {"date_of_birth": "2010-01-01", "sex": "female"},
        {"date_of_birth": "2011-01-01", "sex": "male"},
        sensitive=["date_of_birth"],
    )
    assert changes["date_of_birth"] == {"before": audit.MASK, "after": audit.MASK}
    assert changes["sex"] == {"before": "female", "after": "male"}


def test_events_carry_request_id_and_address(client):
    make_user("auditor", "administrator", "KH")
    response = client.post(
        "/accounts/login/",
        {"username": "auditor", "password": "a-long-test-password-1"},
        HTTP_X_REQUEST_ID="abc123",
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="login", actor_username="auditor")
    assert event.request_id == "abc123"
    assert event.ip == "10.1.2.3"
    assert response["X-Request-ID"] == "abc123"


def test_audit_page_is_for_administrators_only(client):
    admin = make_user("admin1", "administrator", "KH")
    facilitator = make_user("fac1", "facilitator", "200103")
    audit.record(actor=admin, action="update", object_type="registry.person", object_id=7)

    assert client.get("/audit/").status_code == 302  # anonymous: to sign-in
    client.force_login(facilitator)
    assert client.get("/audit/").status_code == 403
    assert client.get("/api/v1/audit-events/").status_code == 403
    client.force_login(admin)
    page = client.get("/audit/", {"action": "update", "object_type": "registry.person"})
    assert page.status_code == 200
    assert '<span class="code">7</span>' in page.content.decode()
    api = client.get("/api/v1/audit-events/", {"object_type": "registry.person"}).json()
    assert api["count"] == 1 and api["results"][0]["object_id"] == "7"
    unknown = client.get("/audit/", {"object_type": "nothing.here"}).content.decode()
    assert '<span class="code">7</span>' not in unknown
    assert "No events match." in unknown
