"""The interface is fully translated: no empty entry in the Khmer or Vietnamese catalogue,
and the pages a user meets first really come out in those languages."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from django.utils import translation

LOCALE = Path(__file__).resolve().parents[2] / "src" / "ctip" / "locale"


def _msgids(po: Path, *flags: str) -> list[str]:
    """msgids of the entries msgattrib selects (gettext, installed by the project's setup)."""
    out = subprocess.run(
        ["msgattrib", *flags, "--no-wrap", str(po)], capture_output=True, text=True, check=True
    ).stdout
    return [m for m in re.findall(r'^msgid "(.*)"$', out, re.M) if m]


@pytest.mark.parametrize("language", ["km", "vi"])
def test_catalogue_has_no_empty_translation(language):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    assert len(_msgids(po, "--translated")) > 300
    assert _msgids(po, "--untranslated") == []
    assert _msgids(po, "--only-fuzzy") == []


@pytest.mark.parametrize(
    ("language", "english", "expected"),
    [
        ("km", "Households", "គ្រួសារ"),
        ("km", "Sign in", "ចូលគណនី"),
        ("vi", "Households", "Hộ gia đình"),
        ("vi", "Audit trail", "Nhật ký truy vết"),
    ],
)
def test_compiled_catalogues_are_used(language, english, expected):
    with translation.override(language):
        assert translation.gettext(english) == expected
