"""Roles are named sets of permission codes; a user holds a role in one or more areas."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Permission codes (what a role lets its holder do, inside the areas it is held in).
VIEW_AREAS = "areas.view"
MANAGE_AREAS = "areas.manage"
VIEW_PERSONS = "persons.view"
CHANGE_PERSONS = "persons.change"
EXPORT_PERSONS = "persons.export"
VIEW_AGGREGATES = "aggregates.view"
MANAGE_USERS = "users.manage"
VIEW_AUDIT = "audit.view"
VIEW_SENSITIVE = "persons.sensitive"
MERGE_PERSONS = "persons.merge"
IMPORT_REGISTRY = "registry.import"
MANAGE_INSTRUMENTS = "instruments.manage"
DECIDE_TARGETING = "targeting.decide"
RECORD_INTERVENTIONS = "interventions.record"
MANAGE_INTERVENTIONS = "interventions.manage"

PERMISSIONS: dict[str, Promise] = {
    VIEW_AREAS: _("Browse administrative areas"),
    MANAGE_AREAS: _("Add villages and hamlets"),
    VIEW_PERSONS: _("See households and persons"),
    CHANGE_PERSONS: _("Register and edit households and persons"),
    EXPORT_PERSONS: _("Export person-level lists"),
    VIEW_AGGREGATES: _("See aggregate figures"),
    MANAGE_USERS: _("Manage users, roles and areas"),
    VIEW_AUDIT: _("Read the audit trail"),
    VIEW_SENSITIVE: _("See sensitive answers and outcomes (violence, exploitation)"),
    MERGE_PERSONS: _("Review possible duplicates and merge person records"),
    IMPORT_REGISTRY: _("Import households and persons from files"),
    MANAGE_INSTRUMENTS: _("Edit and publish vulnerability instruments and eligibility rules"),
    DECIDE_TARGETING: _("Build targeting lists and record committee decisions"),
    RECORD_INTERVENTIONS: _(
        "Record interventions: events and attendance, enrolments, loans and repayments,"
        " savings, activities, education support, participation, follow-up visits"
    ),
    MANAGE_INTERVENTIONS: _(
        "Set up interventions: courses, loan products and write-offs, migration wage"
        " benchmarks, follow-up plans, the materials library"
    ),
}


@dataclass(frozen=True)
class Role:
    slug: str
    name: Promise
    description: Promise
    permissions: frozenset[str]


ROLES: dict[str, Role] = {
    r.slug: r
    for r in [
        Role(
            "administrator",
            _("Administrator"),
            _("Users, roles, geography and data protection."),
            frozenset(PERMISSIONS),
        ),
        Role(
            "programme_manager",
            _("Programme manager"),
            _("Runs the programme; sees and edits records in their areas."),
            frozenset(
                {
                    VIEW_AREAS,
                    VIEW_PERSONS,
                    CHANGE_PERSONS,
                    EXPORT_PERSONS,
                    VIEW_AGGREGATES,
                    VIEW_SENSITIVE,
                    MERGE_PERSONS,
                    IMPORT_REGISTRY,
                    MANAGE_INSTRUMENTS,
                    DECIDE_TARGETING,
                    RECORD_INTERVENTIONS,
                    MANAGE_INTERVENTIONS,
                }
            ),
        ),
        Role(
            "me_officer",
            _("M&E officer"),
            _("Monitoring and evaluation: reads records and figures, exports for analysis."),
            frozenset(
                {VIEW_AREAS, VIEW_PERSONS, EXPORT_PERSONS, VIEW_AGGREGATES, VIEW_SENSITIVE}
                | {MANAGE_INSTRUMENTS}
            ),
        ),
        Role(
            "provincial_officer",
            _("Provincial officer"),
            _("Provincial committee: follows the province's households, persons and figures."),
            frozenset(
                {
                    VIEW_AREAS,
                    VIEW_PERSONS,
                    CHANGE_PERSONS,
                    EXPORT_PERSONS,
                    VIEW_AGGREGATES,
                    VIEW_SENSITIVE,
                    MERGE_PERSONS,
                    IMPORT_REGISTRY,
                    DECIDE_TARGETING,
                    RECORD_INTERVENTIONS,
                    MANAGE_INTERVENTIONS,
                }
            ),
        ),
        Role(
            "facilitator",
            _("Community facilitator"),
            _("Registers and follows households in their commune or village."),
            frozenset(
                {VIEW_AREAS, VIEW_PERSONS, CHANGE_PERSONS, VIEW_AGGREGATES, RECORD_INTERVENTIONS}
            ),
        ),
        Role(
            "donor",
            _("Donor"),
            _("Read-only aggregate figures; never person-level data."),
            frozenset({VIEW_AREAS, VIEW_AGGREGATES}),
        ),
    ]
}

ROLE_CHOICES = [(slug, role.name) for slug, role in ROLES.items()]


def roles_with(permission: str) -> list[str]:
    return [slug for slug, role in ROLES.items() if permission in role.permissions]
