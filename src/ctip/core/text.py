"""Text folding for search: case-, tone- and diacritic-insensitive, script-preserving."""

from __future__ import annotations

import unicodedata

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_LATIN_LIMIT = 0x0250  # Basic Latin .. Latin Extended-B (Vietnamese letters are below this)


def fold(text: str | None) -> str:
    """'Nguyễn Thị Hồng' -> 'nguyen thi hong'; Khmer keeps its vowel signs.

    Combining marks are dropped only after a Latin letter: in Khmer they are
    part of the spelling, in Vietnamese they are tones and diacritics.
    """
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFD", text.translate(_ZERO_WIDTH))
    out: list[str] = []
    base_is_latin = False
    for ch in decomposed:
        if unicodedata.combining(ch):
            if base_is_latin:
                continue
        else:
            base_is_latin = ord(ch) < _LATIN_LIMIT
        out.append(ch)
    folded = unicodedata.normalize("NFC", "".join(out)).casefold()
    folded = folded.replace("đ", "d")
    return " ".join(folded.split())


def fold_all(*parts: str | None) -> str:
    return " | ".join(p for p in (fold(x) for x in parts) if p)
