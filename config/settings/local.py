"""Settings for a laptop: the demo and development (SQLite under var/ unless DATABASE_URL).

DEBUG is off unless CTIP_DEBUG=1, so the demo shows ctip's own error pages, in the
user's language, as a deployment would; static files come straight from the source.
"""

import os

from .base import *  # noqa: F403

DEBUG = os.environ.get("CTIP_DEBUG", "0") == "1"
STATIC_ROOT = None  # served from the source tree: no collectstatic
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
