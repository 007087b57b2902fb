"""Settings for a laptop: the demo and development (SQLite under var/ unless DATABASE_URL)."""

from .base import *  # noqa: F403

DEBUG = True
