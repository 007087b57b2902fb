"""The audit trail: append events, verify the hash chain.

Services call `record()` inside their own transaction, so an event exists if and
only if the change it describes was committed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from . import context
from .models import AuditChainHead, AuditEvent

GENESIS = "0" * 64
MASK = "•••"


def _canonical(value: Any) -> Any:
    """The JSON form stored and hashed, so what is re-read hashes the same."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False, sort_keys=True))


def _digest(prev_hash: str, fields: Mapping[str, Any]) -> str:
    payload = json.dumps(
        {"prev": prev_hash, **fields}, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _hashed_fields(event: AuditEvent) -> dict[str, Any]:
    occurred = event.occurred_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "occurred_at": occurred,
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "changes": event.changes,
        "ip": event.ip,
        "request_id": event.request_id,
        "channel": event.channel,
    }


def object_label(obj: models.Model) -> str:
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


def diff(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    *,
    sensitive: Iterable[str] = (),
) -> dict[str, dict[str, Any]]:
    """Changed fields as {field: {"before": .., "after": ..}}, sensitive values masked."""
    before = before or {}
    after = after or {}
    masked = set(sensitive)
    out: dict[str, dict[str, Any]] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key in masked:
            old = MASK if old not in (None, "") else old
            new = MASK if new not in (None, "") else new
        out[key] = {"before": old, "after": new}
    return _canonical(out)


def record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    object_repr: str = "",
    changes: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain (inside the caller's transaction)."""
    ctx = context.current()
    if obj is not None:
        object_type = object_type or object_label(obj)
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    user = actor if getattr(actor, "is_authenticated", False) else None
    if user is not None:
        name = user.username
    else:
        name = getattr(actor, "username", None) or (str(actor) if actor else "system")
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
        if head is None:
            head = AuditChainHead.objects.create(pk=1, last_hash=GENESIS, count=0)
        event = AuditEvent(
            occurred_at=timezone.now(),
            actor=user,
            actor_username=name,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            object_repr=object_repr[:200],
            changes=_canonical(dict(changes or {})),
            ip=ctx.ip,
            request_id=ctx.request_id,
            channel=ctx.channel,
            prev_hash=head.last_hash,
        )
        event.hash = _digest(head.last_hash, _hashed_fields(event))
        event.save(force_insert=True)
        AuditChainHead.objects.filter(pk=1).update(last_hash=event.hash, count=head.count + 1)
    return event


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_at: int | None = None
    reason: str = ""


def verify(*, batch_size: int = 5000) -> VerifyResult:
    """Walk the chain in order; report the first event whose link or content is wrong."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        batch = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id")[:batch_size])
        if not batch:
            break
        for event in batch:
            if event.prev_hash != prev:
                return VerifyResult(
                    False, checked, event.id, "link to the previous event is broken"
                )
            if _digest(prev, _hashed_fields(event)) != event.hash:
                return VerifyResult(False, checked, event.id, "content does not match its hash")
            prev = event.hash
            checked += 1
            last_id = event.id
    head = AuditChainHead.objects.filter(pk=1).first()
    expected = head.count if head else 0
    expected_hash = head.last_hash if head else GENESIS
    if checked != expected or prev != expected_hash:
        return VerifyResult(
            False, checked, None, f"the trail holds {checked} events but {expected} were written"
        )
    return VerifyResult(True, checked)


def last_events_for(obj: models.Model, limit: int = 20) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(object_type=object_label(obj), object_id=str(obj.pk))[:limit]
    )


def since(when: datetime) -> models.QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(occurred_at__gte=when)
