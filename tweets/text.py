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


class TextError(ValueError):
    """A human-readable reason the text is not acceptable."""


def text_normalize(text: str, *, has_media: bool) -> str:
    normalized = unicodedata.normalize("NFC", text)
    if any(unicodedata.category(ch) == "Cs" for ch in normalized):
        raise TextError("Text contains an unpaired surrogate code point.")
    if "\x00" in normalized:
        raise TextError("Text must not contain NUL characters.")
    if len(normalized) == 0:
        raise TextError("Text must not be empty.")
    if len(normalized) > MAX_TEXT_LENGTH:
        raise TextError(
            f"Text is {len(normalized)} characters after NFC normalisation; the limit is {MAX_TEXT_LENGTH}."
        )
    if not normalized.strip() and not has_media:
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
