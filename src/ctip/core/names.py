"""Spelling-variant keys for personal names, so that search and duplicate detection
find "Sokh Srei" when "Sok Srey" was typed, and "Nguyen" when "Nguyễn" or "Ngyuen"
was.

A key is the folded name (see ctip.core.text.fold) with the variations that
romanised Khmer and unaccented Vietnamese names commonly show rewritten to one
form. It is deliberately coarse: it widens matches, it never decides alone.
"""

from __future__ import annotations

import re

from .text import fold

# Ordered rewrites applied to each Latin word. Romanised Khmer spells the same
# sound in several ways (ey/ei/ay, ea/ia, ou/o/u, final h, doubled letters);
# Vietnamese names typed without a keyboard for it lose marks (handled by fold)
# and swap a few letters (y/i, ph/f, d/z/gi).
_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), r)
    for p, r in [
        # Nguyễn, the family name of about four Vietnamese in ten, and its usual
        # misspellings typed in a hurry: "Ngyuen", "Nguen", "Nguyn".
        (r"^ng(?:uy|yu|u|y)e?n$", "nguyen"),
        (r"([a-z])\1+", r"\1"),  # doubled letters: "Sokkha" = "Sokha"
        (r"ph", "f"),
        (r"th", "t"),
        (r"kh", "k"),
        (r"ch", "c"),
        (r"gh", "g"),
        (r"^gi", "z"),
        (r"^d", "z"),
        (r"(ey|ei|ay|ai)$", "ei"),
        (r"(ea|ia|ie)", "ia"),
        (r"(ou|oo|uo)", "u"),
        (r"y", "i"),
        (r"([aeiou])h$", r"\1"),  # final h: "Sokh" = "Sok", "Chanh" = "Chan"
        (r"([aeiou])r$", r"\1"),  # final r: "Chear" = "Chea"
        (r"ng$", "n"),
    ]
]


def variant_key_word(word: str) -> str:
    if not word.isascii():
        return word  # Khmer script: fold already normalised it
    for pattern, repl in _RULES:
        word = pattern.sub(repl, word)
    return word


def variant_key(*parts: str | None) -> str:
    """One key for all the names given: words folded, rewritten, space separated."""
    words: list[str] = []
    for part in parts:
        words.extend(variant_key_word(w) for w in re.split(r"[\s\-.,'’]+", fold(part)) if w)
    return " ".join(words)
