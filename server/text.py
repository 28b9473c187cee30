"""What free text the server stores: no control characters (NUL, escape sequences) and no
bidirectional overrides, which would hide or reorder what a clinician reads in a name or note.
"""

from __future__ import annotations

import unicodedata

#: Bidirectional embedding, override and isolate controls (they reorder the text shown).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def text_problem(text: str, *, newlines: bool = False) -> str | None:
    """Why ``text`` cannot be stored as typed, or None when it can.

    Parameters
    ----------
    text : str
        A name, a note or a field of an uploaded document.
    newlines : bool
        Whether line breaks and tabs are allowed (notes), not in names.
    """
    for ch in text:
        if newlines and ch in "\n\r\t":
            continue
        if unicodedata.category(ch) == "Cc":
            return f"must not contain control characters (found U+{ord(ch):04X})"
        if ch in _BIDI_CONTROLS:
            return f"must not contain text-direction overrides (found U+{ord(ch):04X})"
    return None
