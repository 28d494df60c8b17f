"""Text others will read: free of invisible characters that hide or reorder what is shown.

Format characters (Unicode category Cf: zero-width spaces and joiners, soft hyphens, the BOM, word
joiners) split a word without showing it, so `网\u200b赌` would pass a blocked-word list as two
harmless characters; bidirectional controls (also Cf) make a department read backwards to reviewers
and readers. Both go, except what emoji are made of: a zero-width joiner between two pictographs
(🧑‍⚕️, 👩‍👩‍👧) and the tag characters of a subdivision flag (🏴󠁧󠁢󠁳󠁣󠁴󠁿). Comments, every verification
field, and later reports use this one function.
"""

from __future__ import annotations

import unicodedata

ZERO_WIDTH_JOINER = "\u200d"
# Embeddings, overrides, isolates and marks: all Cf, named here so tests and readers can see them.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_BLACK_FLAG = "\U0001f3f4"
_TAGS = range(0xE0020, 0xE0080)  # tag characters: only inside a flag's tag sequence
_EMOJI_MODIFIERS = frozenset("\ufe0f\ufe0e") | {chr(c) for c in range(0x1F3FB, 0x1F400)}


def _pictographic(ch: str) -> bool:
    """Whether `ch` can join an emoji sequence. Python has no Extended_Pictographic property: these
    blocks hold every pictograph the emoji ZWJ sequences use (symbols, dingbats, arrows, the
    supplementary pictographs), and no letter of any script."""
    cp = ord(ch)
    return 0x1F000 <= cp <= 0x1FAFF or 0x2190 <= cp <= 0x2BFF or cp in (0x00A9, 0x00AE, 0x203C, 0x2049)


def _emoji_before(kept: list[str]) -> bool:
    for ch in reversed(kept):
        if ch not in _EMOJI_MODIFIERS:
            return _pictographic(ch)
    return False


def _in_flag(kept: list[str]) -> bool:
    for ch in reversed(kept):
        if ord(ch) not in _TAGS:
            return ch == _BLACK_FLAG
    return False


def visible_text(raw: str) -> str:
    """`raw` in NFC without format characters (Cf) and bidirectional controls, emoji kept whole.
    Control characters (Cc) are left to the caller: a comment keeps its newlines, a form field
    refuses them."""
    text = unicodedata.normalize("NFC", raw)
    kept: list[str] = []
    for i, ch in enumerate(text):
        if ch in BIDI_CONTROLS or unicodedata.category(ch) == "Cf":
            after = text[i + 1] if i + 1 < len(text) else ""
            joins = ch == ZERO_WIDTH_JOINER and _emoji_before(kept) and bool(after) and _pictographic(after)
            if not (joins or (ord(ch) in _TAGS and _in_flag(kept))):
                continue
        kept.append(ch)
    return "".join(kept)
