"""Settings for the test suite: the same stack, fast password hashing."""

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
AXES_FAILURE_LIMIT = 5
# Static files straight from the source tree, as in local.py: no collectstatic needed.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
