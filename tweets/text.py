"""Text rules shared by create, edit and search: NFC normalisation, the
280-code-point limit, content hashes and hashtags."""

from __future__ import annotations

import hashlib
import re
import unicodedata

MAX_TEXT_LENGTH = 280
MAX_HASHTAG_LENGTH = 100  # stored tags are varchar(100)
# Letters, marks, digits and underscore in any script; case-folded when stored.
HASHTAG_RE = re.compile(r"(?<![\w&])#([^\W]\w{0,99})", re.UNICODE)


# Characters that render as nothing: format controls (zero-width space and
# joiners, word joiner, BOM, soft hyphen, ...: category Cf) and the letters and
# symbols that are blank by design (Hangul fillers, the braille blank).
BLANK_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Bidi embeddings and overrides (LRE, RLE, PDF, LRO, RLO) reorder the text
# around them and leak past the tweet into the page ("Trojan Source"); the
# isolates (LRI, RLI, FSI ... PDI) are what right-to-left writers need and are
# accepted when balanced, so they cannot spill over either.
BIDI_OVERRIDES = frozenset("\u202a\u202b\u202c\u202d\u202e")
BIDI_ISOLATE_OPENERS = frozenset("\u2066\u2067\u2068")
BIDI_ISOLATE_CLOSER = "\u2069"


class TextError(ValueError):
    """A human-readable reason the text is not acceptable."""


def is_invisible(ch: str) -> bool:
    return unicodedata.category(ch) == "Cf" or ch in BLANK_CHARACTERS


def _check_bidi(text: str) -> None:
    if any(ch in BIDI_OVERRIDES for ch in text):
        raise TextError(
            "Text must not contain bidirectional embedding or override characters (U+202A–U+202E); "
            "use the isolates U+2066–U+2069."
        )
    depth = 0
    for ch in text:
        if ch in BIDI_ISOLATE_OPENERS:
            depth += 1
        elif ch == BIDI_ISOLATE_CLOSER:
            depth -= 1
            if depth < 0:
                break
    if depth != 0:
        raise TextError("Bidirectional isolates (U+2066–U+2069) must be balanced.")


def text_normalize(text: str, *, has_media: bool) -> str:
    normalized = unicodedata.normalize("NFC", text)
    if any(unicodedata.category(ch) == "Cs" for ch in normalized):
        raise TextError("Text contains an unpaired surrogate code point.")
    if "\x00" in normalized:
        raise TextError("Text must not contain NUL characters.")
    if len(normalized) == 0:
        raise TextError("Text must not be empty.")
    visible = "".join(ch for ch in normalized if not is_invisible(ch))
    if not visible:
        raise TextError("Text must not consist only of invisible characters.")
    _check_bidi(normalized)
    if len(normalized) > MAX_TEXT_LENGTH:
        raise TextError(
            f"Text is {len(normalized)} characters after NFC normalisation; the limit is {MAX_TEXT_LENGTH}."
        )
    if not visible.strip() and not has_media:
        raise TextError("Whitespace-only text is allowed only with media.")
    return normalized


def content_hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def hashtags_extract(text: str) -> list[str]:
    """Distinct case-folded tags in order of first appearance."""
    seen: dict[str, None] = {}
    for match in HASHTAG_RE.finditer(text):
        tag = unicodedata.normalize("NFC", match.group(1).casefold())
        # Case folding can lengthen a tag ("ß" → "ss", "ﬃ" → "ffi"); a tag
        # that no longer fits is not a tag rather than a failed post.
        if tag.strip("_") and len(tag) <= MAX_HASHTAG_LENGTH:
            seen.setdefault(tag, None)
    return list(seen)
