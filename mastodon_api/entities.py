"""Mastodon's entities (Account, Status, MediaAttachment, StatusEdit, Tag)
rendered from what the native selectors return. Nothing here decides a rule:
visibility, counts, media state and versions all come from the native layer;
this module only changes their shape. Ids are strings."""

from __future__ import annotations

import contextlib
import html
import time
from collections.abc import Iterable
from datetime import UTC, datetime

from django.core.cache import cache

from engagement.flags import Flags
from engagement.selectors import engaged_by_user
from nexus.timefmt import format_timestamp
from tweets.models import Tweet
from tweets.selectors import authors_get_many
from tweets.text import HASHTAG_RE, hashtags_extract

AVATAR_PATH = "/static/mastodon/avatar.png"


def base_url(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def absolute(base: str, url: str | None) -> str | None:
    if url is None or "://" in url:
        return url
    return base + url


# --- accounts ------------------------------------------------------------------------------
ACCOUNT_CACHE_SECONDS = 60  # statuses_count and last_status_at may lag by this much
ACCOUNT_CACHE_PREFIX = "mastodon:account:v2:"
ACCOUNTS_HERE_MAX = 10_000
# What Account entities are made of, kept in this process too: a status read
# then needs no cache round trip for its author. Each row carries the moment
# it stops being fresh, set when it was read from the database, so a copy
# taken from the shared cache lags no more than the shared one may.
_accounts_here: dict[int, dict] = {}


def accounts_forget_here() -> None:
    """Drop this process's copies (tests, between runs that reuse user ids)."""
    _accounts_here.clear()


def accounts_get_many(user_ids: Iterable[int], *, base: str) -> dict[int, dict]:
    """Account entities by user id. What they are made of (name, join date,
    status count) is cached briefly, in this process and in the shared cache:
    for the misses here one cache round trip, and for the misses there one
    statement (`tweets.selectors.authors_get_many`)."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    now = time.time()
    rows = {i: row for i in ids if (row := _accounts_here.get(i)) is not None and row["fresh_until"] > now}
    missing = [i for i in ids if i not in rows]
    if missing:
        rows.update(_account_rows_shared(missing, now=now))
        if len(_accounts_here) >= ACCOUNTS_HERE_MAX:
            _accounts_here.clear()
        _accounts_here.update({i: rows[i] for i in missing if i in rows})
    return {i: account_render(row, base=base) for i, row in rows.items()}


def _account_rows_shared(user_ids: list[int], *, now: float) -> dict[int, dict]:
    keys = {i: f"{ACCOUNT_CACHE_PREFIX}{i}" for i in user_ids}
    try:
        found = cache.get_many(list(keys.values()))
    except Exception:  # the cache is an optimisation
        found = {}
    rows = {i: found[k] for i, k in keys.items() if k in found and found[k]["fresh_until"] > now}
    missing = [i for i in user_ids if i not in rows]
    if missing:
        fresh = _account_rows(missing, fresh_until=now + ACCOUNT_CACHE_SECONDS)
        rows.update(fresh)
        with contextlib.suppress(Exception):
            cache.set_many({keys[i]: row for i, row in fresh.items()}, ACCOUNT_CACHE_SECONDS)
    return rows


def _account_rows(user_ids: list[int], *, fresh_until: float) -> dict[int, dict]:
    return {
        user_id: {
            "id": user_id,
            "username": author["username"],
            "created_at": format_timestamp(author["joined"].replace(hour=0, minute=0, second=0, microsecond=0)),
            "statuses": author["statuses"],
            "last": author["last_published_at"].date().isoformat() if author["last_published_at"] else None,
            "fresh_until": fresh_until,
        }
        for user_id, author in authors_get_many(user_ids).items()
    }


def account_get(user_id: int, *, base: str) -> dict | None:
    return accounts_get_many([user_id], base=base).get(user_id)


def account_render(row: dict, *, base: str) -> dict:
    avatar = base + AVATAR_PATH
    username = row["username"]
    return {
        "id": str(row["id"]),
        "username": username,
        "acct": username,
        "display_name": username,
        "locked": False,
        "bot": False,
        "discoverable": True,
        "indexable": True,
        "group": False,
        "created_at": row["created_at"],
        "note": "",
        "url": f"{base}/api/v1/users/{username}/tweets",
        "uri": f"{base}/api/v1/accounts/{row['id']}",
        "avatar": avatar,
        "avatar_static": avatar,
        "header": avatar,
        "header_static": avatar,
        "followers_count": 0,
        "following_count": 0,
        "statuses_count": row["statuses"],
        "last_status_at": row["last"],
        "hide_collections": True,
        "noindex": False,
        "emojis": [],
        "roles": [],
        "fields": [],
    }


def credential_account(account: dict) -> dict:
    """verify_credentials: the Account plus what only its owner sees."""
    return {
        **account,
        "source": {
            "privacy": "public",
            "sensitive": False,
            "language": None,
            "note": "",
            "fields": [],
            "follow_requests_count": 0,
        },
    }


# --- media ---------------------------------------------------------------------------------
URL_VARIANTS = ("large", "medium", "small", "thumb")
PREVIEW_VARIANTS = ("small", "thumb", "medium", "large")


def _variant(variants: dict, names: tuple[str, ...]) -> dict | None:
    return next((variants[n] for n in names if n in variants), None)


def _meta(width: int | None, height: int | None) -> dict | None:
    if not width or not height:
        return None
    return {"width": width, "height": height, "size": f"{width}x{height}", "aspect": round(width / height, 6)}


def media_attachment(media: dict, *, base: str) -> dict:
    """MediaAttachment fields for a native media JSON (`media.selectors`): the
    URLs are null until the variants are ready, as Mastodon's are while processing."""
    variants = media.get("variants") or {}
    full = _variant(variants, URL_VARIANTS)
    preview = _variant(variants, PREVIEW_VARIANTS)
    meta = {}
    if original := _meta(media.get("width"), media.get("height")):
        meta["original"] = original
    if preview and (small := _meta(preview["width"], preview["height"])):
        meta["small"] = small
    return {
        "id": media["id"],
        "type": "unknown" if media.get("status") == "failed" else "image",
        "url": absolute(base, full["jpeg"]) if full else None,
        "preview_url": absolute(base, preview["jpeg"]) if preview else None,
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta,
        "description": media.get("alt_text") or None,
        "blurhash": None,
    }


def media_superset(media: dict, *, base: str) -> dict:
    """One body for both clients of `GET /api/v1/media/:id`: the native media
    JSON and the MediaAttachment fields (no key is shared)."""
    return {**media, **media_attachment(media, base=base)}


# --- statuses ------------------------------------------------------------------------------
def content_html(text: str, *, base: str) -> str:
    """Text as Mastodon's HTML: escaped, hashtags linked (found by the native
    hashtag rule), line breaks kept."""
    parts: list[str] = []
    last = 0
    for match in HASHTAG_RE.finditer(text):
        tags = hashtags_extract(match.group(0))
        if not tags:
            continue
        parts.append(html.escape(text[last : match.start()]))
        parts.append(
            f'<a href="{html.escape(tag_url(tags[0], base=base))}" class="mention hashtag" rel="tag">'
            f"#<span>{html.escape(match.group(1))}</span></a>"
        )
        last = match.end()
    parts.append(html.escape(text[last:]))
    return "<p>" + "".join(parts).replace("\n", "<br>") + "</p>"


def tag_url(tag: str, *, base: str) -> str:
    return f"{base}/api/v1/timelines/tag/{tag}"


def _engagement_flags(user, tweet_ids: list[int]) -> Flags:
    if user is None or not user.is_authenticated or not tweet_ids:
        return set(), set()
    return engaged_by_user(user_id=user.pk, tweet_ids=tweet_ids)


def _parent_authors(tweets: list[dict]) -> dict[int, int]:
    parents = {int(t["in_reply_to_id"]) for t in tweets if t["in_reply_to_id"]}
    if not parents:
        return {}
    return dict(Tweet.objects.filter(id__in=parents).values_list("id", "author_id"))


NO_FLAGS: Flags = (frozenset(), frozenset())  # a status this request created: nobody engaged yet


def statuses_render(tweets: list[dict], *, request, flags: Flags | None = None) -> list[dict]:
    """Status entities for native tweet JSON (as `tweets.selectors` renders it),
    in the same order: the accounts (`accounts_get_many`), and the caller's
    likes and retweets as given (`api.selectors.tweets_engaged_get_many` reads
    them with the tweets) or else read here."""
    base = base_url(request)
    ids = [int(t["id"]) for t in tweets]
    parent_authors = _parent_authors(tweets)
    accounts = accounts_get_many([int(t["author"]["id"]) for t in tweets], base=base)
    liked, shared = flags if flags is not None else _engagement_flags(request.user, ids)
    return [
        status_render(
            t,
            account=accounts[int(t["author"]["id"])],
            base=base,
            favourited=int(t["id"]) in liked,
            reblogged=int(t["id"]) in shared,
            parent_authors=parent_authors,
        )
        for t in tweets
        if int(t["author"]["id"]) in accounts
    ]


def status_render(
    tweet: dict, *, account: dict, base: str, favourited: bool, reblogged: bool, parent_authors: dict[int, int]
) -> dict:
    metrics = tweet["metrics"]
    parent = tweet["in_reply_to_id"]
    parent_author = parent_authors.get(int(parent)) if parent else None
    return {
        "id": tweet["id"],
        "uri": f"{base}/api/v1/tweets/{tweet['id']}",
        "url": f"{base}/api/v1/tweets/{tweet['id']}",
        "created_at": tweet["created_at"],
        "edited_at": tweet["edited_at"],
        "account": account,
        "content": content_html(tweet["text"], base=base),
        "visibility": "public",
        "sensitive": False,
        "spoiler_text": "",
        "language": None,
        "in_reply_to_id": parent,
        "in_reply_to_account_id": str(parent_author) if parent_author else None,
        "reblog": None,
        "quote": None,
        "application": None,
        "media_attachments": [media_attachment(m, base=base) for m in tweet["media"]],
        "mentions": [],
        "tags": [{"name": tag, "url": tag_url(tag, base=base)} for tag in hashtags_extract(tweet["text"])],
        "emojis": [],
        "card": None,
        "poll": None,
        "replies_count": metrics["replies"],
        "reblogs_count": metrics["retweets"],
        "favourites_count": metrics["likes"],
        "quotes_count": metrics["quotes"],
        "favourited": favourited,
        "reblogged": reblogged,
        "muted": False,
        "bookmarked": False,
        "pinned": False,
        "filtered": [],
        # What Nexus adds (Mastodon clients ignore it): the exact views count,
        # the version history's head, the quote, the storage tier.
        "nexus": {
            "version": tweet["version"],
            "state": tweet["state"],
            "content_hash": tweet["content_hash"],
            "editable_until": tweet["editable_until"],
            "quote_of_id": tweet["quote_of_id"],
            "views_count": metrics["views"],
            "tier": tweet["tier"],
        },
    }


def reblog_render(original: dict, *, account: dict) -> dict:
    """The Status that wraps a reblog. A Nexus retweet is a fact, not a post of
    its own, so the wrapper carries the original's id."""
    return {
        **original,
        "account": account,
        "content": "",
        "media_attachments": [],
        "mentions": [],
        "tags": [],
        "reblog": original,
        "reblogged": True,
    }


def status_edits_render(versions: list[dict], *, account: dict, media: dict[int, dict], base: str) -> list[dict]:
    """StatusEdit list from the native versions (oldest first, every tier)."""
    return [
        {
            "content": content_html(v["text"], base=base),
            "spoiler_text": "",
            "sensitive": False,
            "created_at": v["created_at"],
            "account": account,
            "poll": None,
            "media_attachments": [
                media_attachment(media[int(m)], base=base) for m in v["media_ids"] if int(m) in media
            ],
            "emojis": [],
            "nexus": {"version": v["version"], "content_hash": v["content_hash"]},
        }
        for v in versions
    ]


# --- tags ----------------------------------------------------------------------------------
def tag_render(stat: dict, *, base: str) -> dict:
    """A Tag from the native hashtag numbers (`analytics.selectors.hashtag_get`).
    History: the last 24 hours as today's entry; Nexus counts uses, not
    distinct accounts, so `accounts` is the uses (an upper bound)."""
    uses = str(sum(stat["per_hour"]))
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "name": stat["tag"],
        "url": tag_url(stat["tag"], base=base),
        "history": [{"day": str(int(today.timestamp())), "uses": uses, "accounts": uses}],
        "following": False,
        "nexus": {"tweets": stat["tweets"], "last_used_at": stat["last_used_at"], "per_hour": stat["per_hour"]},
    }
