"""Limits of the session document's forward-compatibility fields (docs/api.md), shared by
the companion, which sends ``must_understand`` and reads ``ignored_fields``, and the clinic's
server, which checks the one and writes the other.

Both lists hold field paths such as ``sensor.model`` or ``sets[].gaps[].cause``.
"""

from __future__ import annotations

#: Paths a document may list in ``must_understand``, at most.
MAX_MUST_UNDERSTAND = 100
#: The longest path a document may list in ``must_understand``, characters.
MAX_MUST_UNDERSTAND_CHARS = 200
#: Paths an upload's answer names in ``ignored_fields``, at most (the first, sorted).
MAX_IGNORED_LISTED = 100
#: The longest path in ``ignored_fields``, characters: longer ones are cut to it.
MAX_IGNORED_CHARS = 100
