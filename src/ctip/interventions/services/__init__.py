"""Writes of the interventions app, one module per component (rule 1)."""
