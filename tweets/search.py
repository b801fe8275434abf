"""Search query parsing: words, #hashtag and from:username.

On PostgreSQL words match the GIN-indexed tsvector; on SQLite (the embedded
default) a case-insensitive substring match on the hot text is the honest
fallback (warm rows keep no text, so SQLite search covers hot tweets only)."""

from __future__ import annotations

import unicodedata

from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import QuerySet

from nexus.errors import ValidationFailed
from tweets.models import Tier, Tweet, TweetHashtag
from tweets.text import hashtags_extract

MAX_QUERY_LENGTH = 500
SEARCH_CONFIG = "simple"


def search_queryset(raw_query: str) -> QuerySet:
    query = unicodedata.normalize("NFC", raw_query or "").strip()
    if not query:
        raise ValidationFailed({"q": ["Pass a search query."]})
    if len(query) > MAX_QUERY_LENGTH or "\x00" in query:
        raise ValidationFailed({"q": [f"The query must be at most {MAX_QUERY_LENGTH} characters of text."]})
    words: list[str] = []
    tags: list[str] = []
    authors: list[str] = []
    for token in query.split():
        if token.lower().startswith("from:") and len(token) > 5:
            authors.append(token[5:].lstrip("@"))
        elif token.startswith("#"):
            parsed = hashtags_extract(token)
            if not parsed:
                raise ValidationFailed({"q": [f"{token!r} is not a valid hashtag."]})
            tags.extend(parsed)
        else:
            words.append(token)
    if len(authors) > 1:
        raise ValidationFailed({"q": ["At most one from: filter."]})

    queryset = Tweet.objects.published().filter(tier__in=[Tier.HOT, Tier.WARM])
    if authors:
        queryset = queryset.filter(author__username=authors[0])
    for tag in tags:
        queryset = queryset.filter(id__in=TweetHashtag.objects.filter(tag=tag).values("tweet_id"))
    if words:
        if connection.vendor == "postgresql":
            queryset = queryset.filter(
                search_vector=SearchQuery(" ".join(words), config=SEARCH_CONFIG, search_type="plain")
            )
        else:
            for word in words:
                queryset = queryset.filter(content__text__icontains=word)
    return queryset
