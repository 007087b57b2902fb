"""Writes of awareness raising (R7): events, who attended them (by name or by headcount),
and the materials library with its reviews.

An event is held in a village but serves the village's commune (`village.parent`):
neighbours from the next village come too, so attendance accepts any registered person
whose household lives in that commune, and nobody from outside it.

Every function checks the actor's right in the area concerned, validates everything
before writing anything, raises a ValidationError keyed by field (and row, counting
from 1) and writes its audit event in the same transaction.
"""

from __future__ import annotations

import re
import uuid
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from ctip.accounts import access
from ctip.accounts.models import User
from ctip.accounts.roles import (
    MANAGE_INTERVENTIONS,
    RECORD_INTERVENTIONS,
)
from ctip.core import audit
from ctip.geography.models import Area, Level
from ctip.registry.models import Person, Sex
from ctip.registry.selectors import persons_visible_to, restricted

from ..models import (
    REVIEW_CRITERIA,
    AgeBand,
    Audience,
    AwarenessEvent,
    EventAttendance,
    EventHeadcount,
    EventKind,
    Material,
    MaterialKind,
    MaterialReview,
    ReviewerKind,
    Topic,
)
from .checks import author, clean_date, clean_text

# --------------------------------------------------------------------------------------
# Checks of this module's own.

# A headcount above this is a typing slip, even for a radio programme's estimate.
MAX_HEADCOUNT = 1_000_000


def _codes(
    value: Any, allowed: Sequence[str], field: str, errors: dict[str, str], *, required: bool
) -> list[str]:
    """A list of codes from `allowed`, in the order of `allowed`, without repeats."""
    if value in (None, ""):
        items: list[str] = []
    elif isinstance(value, str):
        items = [v.strip() for v in value.split(",") if v.strip()]
    else:
        items = [str(v) for v in value]
    unknown = [v for v in items if v not in allowed]
    if unknown:
        errors[field] = _("Unknown value %(value)s; choose from %(choices)s.") % {
            "value": ", ".join(unknown),
            "choices": ", ".join(allowed),
        }
    elif required and not items:
        errors[field] = _("Choose at least one.")
    return [v for v in allowed if v in items]


# --------------------------------------------------------------------------------------
# Events.

EVENT_FIELDS = (
    "village",
    "held_on",
    "kind",
    "title",
    "topics",
    "location",
    "facilitators",
    "materials",
    "notes",
)


def may_facilitate(user: User, village: Area) -> bool:
    """A facilitator of an event is an active user who records interventions in an area
    covering the event's village (a role there, or above it)."""
    return user.is_active and access.can_act_in(user, RECORD_INTERVENTIONS, village)


def _facilitators(value: Any, village: Area | None, errors: dict[str, str]) -> list[User]:
    items = list(value or [])
    ids = [u.pk if isinstance(u, User) else u for u in items]
    try:
        wanted = list(dict.fromkeys(int(i) for i in ids))
    except (TypeError, ValueError):
        errors["facilitators"] = _("Give facilitators as user ids.")
        return []
    found = User.objects.in_bulk(wanted)
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        errors["facilitators"] = _("No user has the id %(ids)s.") % {"ids": ", ".join(missing)}
        return []
    users = [found[i] for i in wanted]
    if village is not None:
        outside = [u for u in users if not may_facilitate(u, village)]
        if outside:
            errors["facilitators"] = _(
                "%(names)s do not record interventions in %(village)s: a facilitator needs"
                " a role covering the event's village."
            ) % {
                "names": ", ".join(u.get_full_name() or u.username for u in outside),
                "village": village,
            }
    return users


def _materials(value: Any, errors: dict[str, str]) -> list[Material]:
    items = list(value or [])
    ids = [m.pk if isinstance(m, Material) else m for m in items]
    try:
        wanted = list(dict.fromkeys(int(i) for i in ids))
    except (TypeError, ValueError):
        errors["materials"] = _("Give materials as ids from the library.")
        return []
    found = Material.objects.in_bulk(wanted)
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        errors["materials"] = _("The library has no material %(ids)s.") % {
            "ids": ", ".join(missing)
        }
    return [found[i] for i in wanted if i in found]


def _event_snapshot(e: AwarenessEvent) -> dict[str, Any]:
    return {
        "village": e.village.code if e.village_id else None,
        "held_on": e.held_on.isoformat() if e.held_on else None,
        "kind": e.kind,
        "title": e.title,
        "topics": list(e.topics),
        "location": e.location,
        "facilitators": sorted(e.facilitators.values_list("pk", flat=True)) if e.pk else [],
        "materials": sorted(e.materials.values_list("pk", flat=True)) if e.pk else [],
        "notes": e.notes,
    }


def _outside_attendees(event: AwarenessEvent, commune: Area) -> list[Person]:
    return list(
        Person.objects.filter(
            pk__in=EventAttendance.objects.filter(event=event).values("person_id")
        )
        .exclude(household__village__path__startswith=commune.path)
        .order_by("id")[:6]
    )


def clean_event(
    values: Mapping[str, Any], *, current: AwarenessEvent | None = None
) -> dict[str, Any]:
    """Checked fields of an event (only the keys given, with the current event's values
    for the rest); a ValidationError names every bad field."""
    unknown = set(values) - set(EVENT_FIELDS)
    if unknown:
        raise TypeError(f"not a field of an awareness event: {', '.join(sorted(unknown))}")
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    village = values.get("village", current.village if current else None)
    if "village" in values or current is None:
        if not isinstance(village, Area):
            errors["village"] = _("Choose a village.")
            village = None
        elif village.level != Level.VILLAGE:
            errors["village"] = _("Choose a village, not a %(level)s.") % {
                "level": village.get_level_display()
            }
            village = None
        out["village"] = village
    if "held_on" in values or current is None:
        out["held_on"] = clean_date(values.get("held_on"), "held_on", errors)
    if "kind" in values or current is None:
        kind = values.get("kind")
        if kind not in EventKind.values:
            errors["kind"] = _("Choose a type of event (not %(value)r).") % {"value": kind}
        out["kind"] = kind
    if "title" in values or current is None:
        out["title"] = clean_text(
            values.get("title"), "title", errors, max_length=200, required=True
        )
    if "topics" in values or current is None:
        out["topics"] = _codes(values.get("topics"), Topic.values, "topics", errors, required=True)
    if "location" in values:
        out["location"] = clean_text(values["location"], "location", errors, max_length=200)
    if "notes" in values:
        out["notes"] = clean_text(values["notes"], "notes", errors, max_length=5000)
    if "materials" in values:
        out["materials"] = _materials(values["materials"], errors)
    # Facilitators are checked against the village the event will have.
    if "facilitators" in values:
        out["facilitators"] = _facilitators(values["facilitators"], village, errors)
    elif current is not None and "village" in values and village is not None:
        _facilitators(list(current.facilitators.all()), village, errors)
    if current is not None and "village" in values and village is not None:
        commune = village.parent
        if commune is not None and village.parent_id != current.village.parent_id:
            outside = _outside_attendees(current, commune)
            if outside:
                errors["village"] = _(
                    "Attendees of this event live outside %(commune)s, the commune the new"
                    " village is in: %(names)s. Remove them first."
                ) % {"commune": commune, "names": ", ".join(p.full_name for p in outside)}
    if errors:
        raise ValidationError(errors)
    return out


@transaction.atomic
def event_create(*, actor: Any, **fields: Any) -> AwarenessEvent:
    """Record an awareness event in a village the actor records interventions in.

    Fields: village (an Area of level village), held_on (not after today), kind
    (EventKind), title, topics (Topic codes, at least one), location, facilitators
    (users recording interventions in an area covering the village), materials (from
    the library), notes."""
    village = fields.get("village")
    if isinstance(village, Area):
        access.require_in(actor, RECORD_INTERVENTIONS, village)
    else:
        access.require(actor, RECORD_INTERVENTIONS)
    cleaned = clean_event(fields)
    facilitators = cleaned.pop("facilitators", [])
    materials = cleaned.pop("materials", [])
    event = AwarenessEvent.objects.create(created_by=author(actor), **cleaned)
    event.facilitators.set(facilitators)
    event.materials.set(materials)
    audit.record(
        actor=actor, action="create", obj=event, changes=audit.diff(None, _event_snapshot(event))
    )
    return event


@transaction.atomic
def event_update(*, actor: Any, event: AwarenessEvent, **changes: Any) -> AwarenessEvent:
    """Change an event; moving it to another village needs the right in both, and is
    refused while it has attendees from outside the new village's commune."""
    event = AwarenessEvent.objects.select_for_update().select_related("village").get(pk=event.pk)
    access.require_in(actor, RECORD_INTERVENTIONS, event.village)
    new_village = changes.get("village")
    if isinstance(new_village, Area) and new_village.pk != event.village_id:
        access.require_in(actor, RECORD_INTERVENTIONS, new_village)
    cleaned = clean_event(changes, current=event)
    before = _event_snapshot(event)
    facilitators = cleaned.pop("facilitators", None)
    materials = cleaned.pop("materials", None)
    for name, value in cleaned.items():
        setattr(event, name, value)
    event.save()
    if facilitators is not None:
        event.facilitators.set(facilitators)
    if materials is not None:
        event.materials.set(materials)
    changed = audit.diff(before, _event_snapshot(event))
    if changed:
        audit.record(actor=actor, action="update", obj=event, changes=changed)
    return event


# --------------------------------------------------------------------------------------
# Attendance.


def event_area(event: AwarenessEvent) -> Area:
    """The area an event serves: the commune of its village (`village.parent`)."""
    return event.village.parent or event.village


def _person_ids(persons: Iterable[Person | int | str], errors: dict[str, list[str]]) -> list[int]:
    ids: list[int] = []
    for row, item in enumerate(persons, start=1):
        try:
            ids.append(item.pk if isinstance(item, Person) else int(item))
        except (TypeError, ValueError):
            errors[f"persons[{row}]"] = [
                _("Row %(row)s: %(value)r is not a person's id.") % {"row": row, "value": item}
            ]
            ids.append(0)
    return ids


@transaction.atomic
def attendance_record(
    *, actor: Any, event: AwarenessEvent, persons: Iterable[Person | int]
) -> list[EventAttendance]:
    """Record registered persons as having attended, all or nothing.

    The event serves its village's commune (`event.village.parent`): a person whose
    household lives outside that commune is refused, naming the person and the row
    (counting from 1). So is a person the actor cannot see, a record merged into
    another, and a restricted person (registration consent withdrawn). Persons already
    recorded, or given twice, are recorded once. Returns the rows added."""
    event = AwarenessEvent.objects.select_related("village__parent").get(pk=event.pk)
    access.require_in(actor, RECORD_INTERVENTIONS, event.village)
    area = event_area(event)
    errors: dict[str, list[str]] = {}
    ids = _person_ids(list(persons), errors)
    # Persons outside the actor's areas are not found, as if they did not exist.
    found = (
        persons_visible_to(actor, include_merged=True)
        .select_related("household__village", "merged_into")
        .in_bulk([i for i in ids if i])
    )
    restricted_ids = set(
        Person.objects.filter(pk__in=list(found)).filter(restricted()).values_list("pk", flat=True)
    )
    wanted: list[int] = []
    for row, pk in enumerate(ids, start=1):
        key = f"persons[{row}]"
        if key in errors:
            continue
        person = found.get(pk)
        village = person.household.village if person else None
        if person is None or village is None:
            # The same answer whether the person does not exist or is outside the actor's areas.
            errors[key] = [
                _("Row %(row)s: no person #%(id)s in your areas.") % {"row": row, "id": pk}
            ]
        elif person.merged_into_id:
            errors[key] = [
                _("Row %(row)s: %(name)s was merged into %(other)s; record that person.")
                % {"row": row, "name": person.full_name, "other": person.merged_into}
            ]
        elif not village.path.startswith(area.path):
            errors[key] = [
                _(
                    "Row %(row)s: %(name)s lives in %(village)s, outside %(area)s, the area"
                    " this event serves."
                )
                % {"row": row, "name": person.full_name, "village": village, "area": area}
            ]
        elif pk in restricted_ids:
            errors[key] = [
                _(
                    "Row %(row)s: %(name)s withdrew consent to registration; their attendance"
                    " cannot be recorded."
                )
                % {"row": row, "name": person.full_name}
            ]
        else:
            wanted.append(pk)
    if errors:
        raise ValidationError(errors)
    already = set(
        EventAttendance.objects.filter(event=event, person_id__in=wanted).values_list(
            "person_id", flat=True
        )
    )
    new_ids = [pk for pk in dict.fromkeys(wanted) if pk not in already]
    now = timezone.now()
    rows = EventAttendance.objects.bulk_create(
        [
            EventAttendance(event=event, person_id=pk, recorded_by=author(actor), recorded_at=now)
            for pk in new_ids
        ]
    )
    if new_ids:
        audit.record(
            actor=actor,
            action="attendance.record",
            obj=event,
            changes={"added": new_ids, "already_recorded": len(already)},
        )
    return rows


@transaction.atomic
def attendance_remove(*, actor: Any, event: AwarenessEvent, persons: Iterable[Person | int]) -> int:
    """Take persons off an event's attendance (a slip when keying in); persons not on
    it are ignored. Returns how many were removed."""
    event = AwarenessEvent.objects.select_related("village").get(pk=event.pk)
    access.require_in(actor, RECORD_INTERVENTIONS, event.village)
    errors: dict[str, list[str]] = {}
    ids = _person_ids(list(persons), errors)
    if errors:
        raise ValidationError(errors)
    rows = EventAttendance.objects.filter(event=event, person_id__in=ids)
    removed = sorted(rows.values_list("person_id", flat=True))
    if removed:
        rows.delete()
        audit.record(
            actor=actor, action="attendance.remove", obj=event, changes={"removed": removed}
        )
    return len(removed)


HEADCOUNT_SEXES: tuple[str, ...] = tuple(Sex.values)
HEADCOUNT_BANDS: tuple[str, ...] = tuple(AgeBand.values)


def _cell_key(sex: str, band: str) -> str:
    return f"{sex} {band}"


def clean_headcounts(counts: Mapping[tuple[str, str], Any]) -> dict[tuple[str, str], int]:
    """Checked headcount cells; errors are keyed "counts[female 15-17]"."""
    errors: dict[str, str] = {}
    out: dict[tuple[str, str], int] = {}
    for key, value in counts.items():
        try:
            sex, band = key
        except (TypeError, ValueError):
            errors[f"counts[{key}]"] = _("A cell is named by a sex and an age band.")
            continue
        name = f"counts[{_cell_key(sex, band)}]"
        if sex not in HEADCOUNT_SEXES:
            errors[name] = _("Unknown sex %(value)r; choose from %(choices)s.") % {
                "value": sex,
                "choices": ", ".join(HEADCOUNT_SEXES),
            }
            continue
        if band not in HEADCOUNT_BANDS:
            errors[name] = _("Unknown age band %(value)r; choose from %(choices)s.") % {
                "value": band,
                "choices": ", ".join(HEADCOUNT_BANDS),
            }
            continue
        if value in (None, ""):
            number = 0
        elif isinstance(value, bool):
            number = -1
        else:
            try:
                number = int(str(value).strip())
            except ValueError:
                number = -1
        if number < 0 or number > MAX_HEADCOUNT:
            errors[name] = _(
                "%(sex)s, %(band)s: give a whole number from 0 to %(max)s (not %(value)s)."
            ) % {
                "sex": Sex(sex).label,
                "band": band,
                "max": f"{MAX_HEADCOUNT:,}",
                "value": value,
            }
            continue
        out[(sex, band)] = number
    if errors:
        raise ValidationError(errors)
    return out


@transaction.atomic
def headcounts_set(
    *, actor: Any, event: AwarenessEvent, counts: Mapping[tuple[str, str], Any]
) -> list[EventHeadcount]:
    """Replace the event's headcount grid: {(sex, age band): number} of attendees counted
    without names (the people not recorded by name). Cells not given, or 0, are empty."""
    event = AwarenessEvent.objects.select_related("village").get(pk=event.pk)
    access.require_in(actor, RECORD_INTERVENTIONS, event.village)
    cleaned = clean_headcounts(counts)
    before = {
        _cell_key(h.sex, h.age_band): h.count for h in EventHeadcount.objects.filter(event=event)
    }
    after = {_cell_key(s, b): n for (s, b), n in cleaned.items() if n}
    if before == after:
        return list(EventHeadcount.objects.filter(event=event))
    EventHeadcount.objects.filter(event=event).delete()
    rows = EventHeadcount.objects.bulk_create(
        [
            EventHeadcount(event=event, sex=s, age_band=b, count=n)
            for (s, b), n in sorted(cleaned.items())
            if n
        ]
    )
    audit.record(
        actor=actor,
        action="headcounts.set",
        obj=event,
        changes={
            "counts": audit.diff(before, after),
            "total": {"before": sum(before.values()), "after": sum(after.values())},
        },
    )
    return rows


@transaction.atomic
def attendance_save(
    *,
    actor: Any,
    event: AwarenessEvent,
    present: Iterable[Person | int],
    absent: Iterable[Person | int] = (),
    counts: Mapping[tuple[str, str], Any] | None = None,
) -> None:
    """What a keyed-back attendance sheet (or the phone form) says, in one go: the
    persons ticked, the persons shown but not ticked (taken off if they were on), and
    the headcount grid. Nothing is saved if any of it is wrong."""
    errors: dict[str, list[str]] = {}
    present = list(present)
    present_ids = {p.pk if isinstance(p, Person) else p for p in present}
    absent = [p for p in absent if (p.pk if isinstance(p, Person) else p) not in present_ids]

    def collect(exc: ValidationError) -> None:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages)

    try:
        with transaction.atomic():
            attendance_record(actor=actor, event=event, persons=present)
    except ValidationError as exc:
        collect(exc)
    try:
        with transaction.atomic():
            attendance_remove(actor=actor, event=event, persons=absent)
    except ValidationError as exc:
        collect(exc)
    if counts is not None:
        try:
            with transaction.atomic():
                headcounts_set(actor=actor, event=event, counts=counts)
        except ValidationError as exc:
            collect(exc)
    if errors:
        # Undo whatever the steps that passed have written.
        raise ValidationError(errors)


# --------------------------------------------------------------------------------------
# Materials library.

MAX_FILE_BYTES = 25 * 1024 * 1024
CONTENT_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "mp3": "audio/mpeg",
    "mp4": "video/mp4",
    "m4a": "audio/mp4",
    "ogg": "audio/ogg",
    "webm": "video/webm",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
ALLOWED_EXTENSIONS: tuple[str, ...] = tuple(CONTENT_TYPES)
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
MATERIAL_FIELDS = (
    "title",
    "kind",
    "language",
    "audiences",
    "topics",
    "agency",
    "version",
    "description",
    "file",
    "supersedes",
)


def extension_of(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _head(fh: IO[bytes], n: int = 16) -> bytes:
    fh.seek(0)
    data = fh.read(n)
    fh.seek(0)
    return data


def _looks_like(ext: str, fh: IO[bytes]) -> bool:
    """Whether the file's first bytes are those of its extension's format: a renamed
    program or web page is refused, since staff will open what they download."""
    head = _head(fh)
    if ext == "pdf":
        return head.startswith(b"%PDF-")
    if ext == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if ext in ("jpg", "jpeg"):
        return head.startswith(b"\xff\xd8\xff")
    if ext == "mp3":
        return head.startswith(b"ID3") or (
            len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
        )
    if ext in ("mp4", "m4a"):
        return head[4:8] == b"ftyp"
    if ext == "ogg":
        return head.startswith(b"OggS")
    if ext == "webm":
        return head.startswith(b"\x1a\x45\xdf\xa3")
    if ext in ("docx", "pptx"):
        if not head.startswith(b"PK\x03\x04"):
            return False
        part = "word/document.xml" if ext == "docx" else "ppt/presentation.xml"
        try:
            with zipfile.ZipFile(fh) as archive:
                return part in archive.namelist()
        except (zipfile.BadZipFile, OSError):
            return False
        finally:
            fh.seek(0)
    return False


def clean_file(upload: Any, errors: dict[str, str]) -> File[Any] | None:
    """An uploaded file within the size limit, of an accepted type, whose content matches
    its extension."""
    if upload is None:
        return None
    name = getattr(upload, "name", "") or ""
    ext = extension_of(name)
    size = getattr(upload, "size", None)
    if ext not in CONTENT_TYPES:
        errors["file"] = _("Files of type %(ext)s are not accepted; use one of: %(allowed)s.") % {
            "ext": f".{ext}" if ext else _("(none)"),
            "allowed": ", ".join(ALLOWED_EXTENSIONS),
        }
        return None
    if size is None or size > MAX_FILE_BYTES:
        errors["file"] = _("The file is %(size)s MB; the limit is %(limit)s MB.") % {
            "size": f"{(size or 0) / 1024 / 1024:.1f}",
            "limit": MAX_FILE_BYTES // 1024 // 1024,
        }
        return None
    if size == 0:
        errors["file"] = _("The file is empty.")
        return None
    fh = upload.file if hasattr(upload, "file") else upload
    if not _looks_like(ext, fh):
        errors["file"] = _("The file's content is not that of a .%(ext)s file.") % {"ext": ext}
        return None
    return upload if isinstance(upload, File) else File(fh, name=name)


def stored_name(original: str) -> str:
    """A name for the stored file that no one can guess, keeping a readable stem."""
    ext = extension_of(original)
    stem = slugify(original.rsplit(".", 1)[0])[:60] or "material"
    return f"{stem}-{uuid.uuid4().hex[:12]}.{ext}"


def _material_snapshot(m: Material) -> dict[str, Any]:
    return {
        "title": m.title,
        "kind": m.kind,
        "language": m.language,
        "audiences": list(m.audiences),
        "topics": list(m.topics),
        "agency": m.agency,
        "version": m.version,
        "description": m.description,
        "file": m.file.name if m.file else "",
        "supersedes": m.supersedes_id,
    }


def clean_material(values: Mapping[str, Any], *, current: Material | None = None) -> dict[str, Any]:
    unknown = set(values) - set(MATERIAL_FIELDS)
    if unknown:
        raise TypeError(f"not a field of a material: {', '.join(sorted(unknown))}")
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    if "title" in values or current is None:
        out["title"] = clean_text(
            values.get("title"), "title", errors, max_length=200, required=True
        )
    if "kind" in values or current is None:
        kind = values.get("kind")
        if kind not in MaterialKind.values:
            errors["kind"] = _("Choose a kind of material (not %(value)r).") % {"value": kind}
        out["kind"] = kind
    if "language" in values or current is None:
        language = str(values.get("language") or "").strip().lower()
        if not LANGUAGE_CODE.match(language):
            errors["language"] = _(
                "Give a language code such as km (Khmer), vi (Vietnamese) or en (English)."
            )
        out["language"] = language
    if "audiences" in values:
        out["audiences"] = _codes(
            values["audiences"], Audience.values, "audiences", errors, required=False
        )
    if "topics" in values:
        out["topics"] = _codes(values["topics"], Topic.values, "topics", errors, required=False)
    for name, limit in (("agency", 200), ("version", 40), ("description", 5000)):
        if name in values:
            out[name] = clean_text(values[name], name, errors, max_length=limit)
    if "supersedes" in values:
        older = values["supersedes"]
        if older in (None, ""):
            out["supersedes"] = None
        else:
            pk = older.pk if isinstance(older, Material) else older
            found = Material.objects.filter(pk=pk).first() if str(pk).isdigit() else None
            if found is None:
                errors["supersedes"] = _("The library has no material %(id)s.") % {"id": pk}
            elif current is not None and found.pk == current.pk:
                errors["supersedes"] = _("A material cannot replace itself.")
            out["supersedes"] = found
    if values.get("file") is not None:
        out["file"] = clean_file(values["file"], errors)
    if errors:
        raise ValidationError(errors)
    return out


def _save_with_file(material: Material, upload: File[Any] | None) -> str:
    """Save the material, storing a new file under a fresh name; returns the new file's
    name ('' when none) so a failure later can remove it."""
    if upload is None:
        material.save()
        return ""
    material.file.save(stored_name(upload.name or "material"), upload, save=True)
    return material.file.name


def material_may_manage(actor: Any) -> bool:
    return access.has_permission(actor, MANAGE_INTERVENTIONS)


@transaction.atomic
def material_create(*, actor: Any, **fields: Any) -> Material:
    """Add a material to the library (MANAGE_INTERVENTIONS). Fields: title, kind
    (MaterialKind), language (a code: km, vi, en...), audiences, topics, agency,
    version, description, file (at most 25 MB, one of ALLOWED_EXTENSIONS, content
    matching the extension), supersedes (the older version it replaces)."""
    access.require(actor, MANAGE_INTERVENTIONS)
    cleaned = clean_material(fields)
    upload = cleaned.pop("file", None)
    material = Material(created_by=author(actor), **cleaned)
    new_file = ""
    try:
        new_file = _save_with_file(material, upload)
        changes = audit.diff(None, _material_snapshot(material))
        if upload is not None:
            changes["file_size"] = {"before": None, "after": material.file.size}
        audit.record(actor=actor, action="create", obj=material, changes=changes)
    except Exception:
        if new_file:
            default_storage.delete(new_file)
        raise
    return material


@transaction.atomic
def material_update(*, actor: Any, material: Material, **changes: Any) -> Material:
    """Change a material; a new file replaces the old one, which is deleted once the
    change is committed."""
    access.require(actor, MANAGE_INTERVENTIONS)
    material = Material.objects.select_for_update().get(pk=material.pk)
    cleaned = clean_material(changes, current=material)
    upload = cleaned.pop("file", None)
    before = _material_snapshot(material)
    old_file = material.file.name if material.file else ""
    for name, value in cleaned.items():
        setattr(material, name, value)
    new_file = ""
    try:
        new_file = _save_with_file(material, upload)
        changed = audit.diff(before, _material_snapshot(material))
        if changed:
            audit.record(actor=actor, action="update", obj=material, changes=changed)
    except Exception:
        if new_file:
            default_storage.delete(new_file)
        raise
    if new_file and old_file:
        transaction.on_commit(lambda: default_storage.delete(old_file))
    return material


REVIEWER_AGES = {ReviewerKind.CHILD: (5, 14), ReviewerKind.YOUTH: (15, 24)}


def may_review(actor: Any) -> bool:
    return access.has_permission(actor, RECORD_INTERVENTIONS) or access.has_permission(
        actor, MANAGE_INTERVENTIONS
    )


@transaction.atomic
def material_review_record(
    *,
    actor: Any,
    material: Material,
    reviewer_kind: str,
    reviewed_on: Any,
    reviewer_sex: str = "",
    reviewer_age: Any = None,
    best_elements: str = "",
    comments: str = "",
    **scores: Any,
) -> MaterialReview:
    """One review of a material on the criteria of R7 (`REVIEW_CRITERIA`, each 1 poor
    to 5 very good), by staff or by a child or young person. A child or young reviewer
    is recorded by kind, sex and age only (there is no name field), and both are needed;
    a staff review is the recording user's own."""
    if not may_review(actor):
        raise PermissionDenied(RECORD_INTERVENTIONS)
    unknown = set(scores) - set(REVIEW_CRITERIA)
    if unknown:
        raise TypeError(f"not a review criterion: {', '.join(sorted(unknown))}")
    errors: dict[str, str] = {}
    if reviewer_kind not in ReviewerKind.values:
        errors["reviewer_kind"] = _("Choose staff, child or young person.")
    day = clean_date(reviewed_on, "reviewed_on", errors)
    sex = (reviewer_sex or "").strip()
    if sex and sex not in Sex.values:
        errors["reviewer_sex"] = _("Unknown sex %(value)r.") % {"value": sex}
    age: int | None = None
    if reviewer_age not in (None, ""):
        try:
            age = int(str(reviewer_age))
        except ValueError:
            errors["reviewer_age"] = _("Give the age in whole years.")
    if reviewer_kind in REVIEWER_AGES:
        low, high = REVIEWER_AGES[ReviewerKind(reviewer_kind)]
        if not sex and "reviewer_sex" not in errors:
            errors["reviewer_sex"] = _("Give the sex of a child or young reviewer.")
        if age is None and "reviewer_age" not in errors:
            errors["reviewer_age"] = _("Give the age of a child or young reviewer.")
        elif age is not None and not low <= age <= high:
            errors["reviewer_age"] = _(
                "A %(kind)s reviewer is %(low)s to %(high)s years old (not %(age)s)."
            ) % {
                "kind": ReviewerKind(reviewer_kind).label.lower(),
                "low": low,
                "high": high,
                "age": age,
            }
    elif age is not None and not 18 <= age <= 99:
        errors["reviewer_age"] = _("Give an age from 18 to 99.")
    values: dict[str, int] = {}
    for criterion in REVIEW_CRITERIA:
        raw = scores.get(criterion)
        try:
            number = int(str(raw)) if raw not in (None, "") and not isinstance(raw, bool) else 0
        except ValueError:
            number = 0
        if not 1 <= number <= 5:
            errors[criterion] = _("Give a score from 1 (poor) to 5 (very good).")
        values[criterion] = number
    best = clean_text(best_elements, "best_elements", errors, max_length=2000)
    note = clean_text(comments, "comments", errors, max_length=2000)
    if errors:
        raise ValidationError(errors)
    assert day is not None
    review = MaterialReview.objects.create(
        material=material,
        reviewer_kind=reviewer_kind,
        reviewer_sex=sex,
        reviewer_age=age,
        reviewed_on=day,
        best_elements=best,
        comments=note,
        created_by=author(actor),
        **values,
    )
    audit.record(
        actor=actor,
        action="create",
        obj=review,
        changes={
            "material": material.pk,
            "reviewer_kind": reviewer_kind,
            "reviewer_sex": sex,
            "reviewer_age": age,
            "reviewed_on": day.isoformat() if day else None,
            **values,
        },
    )
    return review
