"""Reads of the interventions app, scoped to the acting user (rule 3)."""
