"""The interface languages, each named in itself so a reader finds their own."""

LANGUAGE_NAMES = [("en", "English"), ("km", "ខ្មែរ"), ("vi", "Tiếng Việt")]
