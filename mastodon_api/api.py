"""The Mastodon client API over the native services and selectors.

Every view parses Mastodon's parameters, calls the same service or selector
the native API calls (tweets, engagement, media, analytics), and renders
Mastodon's entities (mastodon_api.entities). No rule lives here: text limits,
visibility, the edit window, idempotency, counts and media checks are the
native layer's, reached through its input serializers and services."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.selectors import hashtag_get, hashtag_normalize, hashtags_trending
from api import selectors as api_selectors
from api import services as api_services
from api.views import MAX_IDEMPOTENCY_KEY
from engagement import services as engagement_services
from engagement.models import Like, Retweet
from engagement.selectors import liked_by_queryset
from mastodon_api import entities, oauth
from mastodon_api.errors import exception_handler
from mastodon_api.pagination import id_page, limit_from, offset_from
from mastodon_api.serializers import MediaSupersetOutput
from media import selectors as media_selectors
from media import services as media_services
from media.api import MediaUploadView
from nexus.errors import Unprocessable
from nexus.errors import exception_handler as native_exception_handler
from nexus.schema import NexusAutoSchema
from nexus.snowflake import id_parse
from tweets.models import Tweet, TweetHashtag
from tweets.search import search_queryset
from tweets.serializers import TweetCreateInput, TweetEditInput
from tweets.text import MAX_TEXT_LENGTH

NEXUS_VERSION = "0.1.0"
# Mastodon.py and toot pick endpoints by the version an instance reports.
MASTODON_VERSION = f"4.3.0 (compatible; Nexus {NEXUS_VERSION})"
TRENDS_WINDOW_SECONDS = 3600
CONTEXT_MAX = 60  # ancestors / descendants walked per side


class MastodonView(APIView):
    """Base of every Mastodon route: Mastodon's error body. Not in the OpenAPI
    schema (/api/schema documents the native API; Mastodon's API is documented
    by Mastodon, and the README lists what Nexus supports). Bodies are parsed
    by the project's parsers (JSON, form, multipart: settings.REST_FRAMEWORK)."""

    schema = None

    def get_exception_handler(self):
        return exception_handler


def _id_or_404(raw: str, message: str = "Record not found") -> int:
    """An id from the path (nexus.snowflake.id_parse); Mastodon's 404 when it is none."""
    parsed = id_parse(raw)
    if parsed is None:
        raise NotFound(message)
    return parsed


def _user_id(raw: str) -> int:
    return _id_or_404(raw)


def _status_id(raw: str) -> int:
    return _id_or_404(raw)


def _media_id(raw: str) -> int:
    return _id_or_404(raw, "No such media.")


def _list_param(data, name: str) -> list | None:
    """Form bodies send arrays as `name[]=a&name[]=b`; JSON as a list."""
    if hasattr(data, "getlist"):
        for key in (f"{name}[]", name):
            if key in data:
                return [v for v in data.getlist(key) if v != ""]
        return None
    value = data.get(name, data.get(f"{name}[]"))
    if value is None:
        return None
    return value if isinstance(value, list) else [value]


def _statuses(request: Request, tweet_ids: list[int]) -> list[dict]:
    """Status entities for ids, through the native hydrated read (visibility, every tier)."""
    tweets, liked, shared = api_selectors.tweets_engaged_get_many(tweet_ids=tweet_ids, user=request.user)
    return entities.statuses_render(tweets, request=request, flags=(liked, shared))


def _status_or_404(request: Request, tweet_id: int) -> dict:
    found = _statuses(request, [tweet_id])
    if not found:
        raise NotFound("Record not found")
    return found[0]


def _page(request: Request, queryset, **kwargs) -> Response:
    rows, link = id_page(request, queryset.only("id"), **kwargs)
    response = Response(_statuses(request, [r.id for r in rows]))
    if link:
        response["Link"] = link
    return response


def _account_or_404(request: Request, user_id: int) -> dict:
    account = entities.account_get(user_id, base=entities.base_url(request))
    if account is None:
        raise NotFound("Record not found")
    return account


# --- apps and instance ------------------------------------------------------------------------
class AppsView(MastodonView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes: list = []

    def post(self, request: Request) -> Response:
        name = (request.data.get("client_name") or "").strip()
        if not name:
            raise ValidationError({"client_name": ["can't be blank"]})
        raw_uris = _list_param(request.data, "redirect_uris") or []
        uris = [u for value in raw_uris for u in str(value).split()]
        if not uris:
            raise ValidationError({"redirect_uris": ["can't be blank"]})
        scopes = " ".join((request.data.get("scopes") or "read").split())
        if not oauth.scopes_valid(scopes):
            raise ValidationError({"scopes": ["are invalid"]})
        app, secret = oauth.app_register(
            name=name[:255], redirect_uris=uris, scopes=scopes, website=request.data.get("website") or ""
        )
        return Response(_app_render(app, scopes=scopes, website=request.data.get("website") or None, secret=secret))


def _app_render(app, *, scopes: str, website: str | None, secret: str | None = None) -> dict:
    uris = app.redirect_uris.split()
    body = {
        "id": str(app.id),
        "name": app.name,
        "website": website,
        "scopes": scopes.split(),
        "redirect_uri": "\n".join(uris),
        "redirect_uris": uris,
        "vapid_key": "",
    }
    if secret is not None:
        body.update({"client_id": app.client_id, "client_secret": secret, "client_secret_expires_at": 0})
    return body


class AppVerifyView(MastodonView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        token = request.auth
        application = getattr(token, "application", None)
        if application is None:
            raise PermissionDenied("This method requires an OAuth application token")
        profile = getattr(application, "mastodon_profile", None)
        return Response(
            _app_render(application, scopes=profile.scopes if profile else "read", website=profile and profile.website)
        )


def _instance_common(request: Request) -> dict:
    return {
        "title": "Nexus",
        "version": MASTODON_VERSION,
        "source_url": "https://github.com/",
        "description": "Nexus: tweet storage and retrieval, speaking the Mastodon client API.",
        "languages": ["en"],
        "registrations": False,
        "approval_required": False,
        "invites_enabled": False,
        "rules": [],
    }


def _configuration(request: Request) -> dict:
    return {
        "urls": {"streaming": None},
        "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 0},
        "statuses": {
            "max_characters": MAX_TEXT_LENGTH,
            "max_media_attachments": media_services.MAX_MEDIA_PER_TWEET,
            "characters_reserved_per_url": 0,
        },
        "media_attachments": {
            "supported_mime_types": ["image/jpeg", "image/png", "image/gif", "image/webp"],
            "description_limit": media_services.MAX_ALT_TEXT,
            "image_size_limit": settings.NEXUS_MEDIA_MAX_BYTES,
            "image_matrix_limit": settings.NEXUS_MEDIA_MAX_PIXELS,
            "video_size_limit": 0,
            "video_frame_rate_limit": 0,
            "video_matrix_limit": 0,
        },
        "polls": {"max_options": 0, "max_characters_per_option": 0, "min_expiration": 0, "max_expiration": 0},
        "translation": {"enabled": False},
    }


class InstanceV1View(MastodonView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        host = request.get_host()
        return Response(
            {
                **_instance_common(request),
                "uri": host,
                "short_description": "Tweet storage and retrieval.",
                "email": "",
                "urls": {"streaming_api": None},
                "stats": {"user_count": get_user_model().objects.count(), "status_count": 0, "domain_count": 1},
                "thumbnail": entities.base_url(request) + entities.AVATAR_PATH,
                "configuration": _configuration(request),
                "contact_account": None,
            }
        )


class InstanceV2View(MastodonView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response(
            {
                **_instance_common(request),
                "domain": request.get_host(),
                "api_versions": {"mastodon": 2},
                "usage": {"users": {"active_month": 0}},
                "thumbnail": {"url": entities.base_url(request) + entities.AVATAR_PATH},
                "configuration": _configuration(request),
                "registrations": {"enabled": False, "approval_required": False, "message": None},
                "contact": {"email": "", "account": None},
            }
        )


# --- accounts ------------------------------------------------------------------------------
class VerifyCredentialsView(MastodonView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response(entities.credential_account(_account_or_404(request, request.user.pk)))


class AccountLookupView(MastodonView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        acct = (request.query_params.get("acct") or "").lstrip("@")
        username, _, domain = acct.partition("@")
        if domain and domain != request.get_host().split(":")[0] and domain != request.get_host():
            raise NotFound("Record not found")
        user_id = get_user_model().objects.filter(username=username).values_list("id", flat=True).first()
        if user_id is None:
            raise NotFound("Record not found")
        return Response(_account_or_404(request, user_id))


class AccountDetailView(MastodonView):
    permission_classes = [AllowAny]

    def get(self, request: Request, account_id: str) -> Response:
        return Response(_account_or_404(request, _user_id(account_id)))


class AccountStatusesView(MastodonView):
    permission_classes = [AllowAny]

    def get(self, request: Request, account_id: str) -> Response:
        user_id = _user_id(account_id)
        _account_or_404(request, user_id)
        if request.query_params.get("pinned") in ("true", "1"):
            return Response([])  # Nexus has no pinned posts
        queryset = Tweet.objects.published().filter(author_id=user_id)
        if request.query_params.get("exclude_replies") in ("true", "1"):
            queryset = queryset.filter(in_reply_to_id__isnull=True)
        if request.query_params.get("only_media") in ("true", "1"):
            queryset = queryset.exclude(media_ids=[])
        if tag := request.query_params.get("tagged"):
            queryset = queryset.filter(
                id__in=TweetHashtag.objects.filter(tag=hashtag_normalize(tag)).values("tweet_id")
            )
        return _page(request, queryset)


class AccountRelationshipsView(MastodonView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        ids = _list_param(request.query_params, "id") or []
        return Response([_relationship(i) for i in ids])


def _relationship(account_id: str) -> dict:
    flags = (
        "following",
        "showing_reblogs",
        "notifying",
        "followed_by",
        "blocking",
        "blocked_by",
        "muting",
        "muting_notifications",
        "requested",
        "requested_by",
        "domain_blocking",
        "endorsed",
    )
    return {"id": str(account_id), **dict.fromkeys(flags, False), "languages": None, "note": ""}


class AccountSearchView(MastodonView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response(_accounts_search(request, request.query_params.get("q", "")))


def _accounts_search(request: Request, query: str) -> list[dict]:
    query = query.strip().lstrip("@").split("@")[0]
    if not query:
        return []
    limit = limit_from(request, default=40, maximum=80)
    ids = list(
        get_user_model()
        .objects.filter(username__istartswith=query, is_active=True)
        .order_by("username")
        .values_list("id", flat=True)[:limit]
    )
    accounts = entities.accounts_get_many(ids, base=entities.base_url(request))
    return [accounts[i] for i in ids if i in accounts]


class NoFollowsView(MastodonView):
    """follow, unfollow, block, mute, ...: Nexus has no social graph."""

    permission_classes = [IsAuthenticated]

    def post(self, request: Request, account_id: str, action: str) -> Response:
        raise Unprocessable(f"Nexus has no follows, blocks or mutes ({action} is not available).", code="not_supported")


# --- statuses ------------------------------------------------------------------------------
def _create_input(request: Request) -> dict:
    data = request.data
    visibility = data.get("visibility") or "public"
    if visibility not in ("public", "unlisted"):
        raise ValidationError({"visibility": ["Nexus has public posts only."]})
    if data.get("spoiler_text"):
        raise ValidationError({"spoiler_text": ["Nexus has no content warnings."]})
    if data.get("scheduled_at"):
        raise ValidationError({"scheduled_at": ["Nexus does not schedule posts."]})
    if data.get("poll") or _list_param(data, "poll[options]"):
        raise ValidationError({"poll": ["Nexus has no polls."]})
    fields = {"text": data.get("status") or ""}
    media_ids = _list_param(data, "media_ids")
    if media_ids:
        fields["media_ids"] = media_ids
    if data.get("in_reply_to_id"):
        fields["in_reply_to_id"] = data["in_reply_to_id"]
    quote = data.get("quoted_status_id") or data.get("quote_id")
    if quote:
        fields["quote_of_id"] = quote
    serializer = TweetCreateInput(data=fields)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class StatusCreateView(MastodonView):
    permission_classes = [IsAuthenticated]

    def post(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key")
        if key is not None and not (0 < len(key) <= MAX_IDEMPOTENCY_KEY):
            raise ValidationError({"Idempotency-Key": [f"Must be 1–{MAX_IDEMPOTENCY_KEY} characters."]})
        tweet, created = api_services.tweet_create(author=request.user, idempotency_key=key, **_create_input(request))
        if created:
            # Nobody has liked or retweeted a status this request created.
            rendered = [api_selectors.tweet_render_written(tweet, created=True)]
            return Response(entities.statuses_render(rendered, request=request, flags=entities.NO_FLAGS)[0])
        return Response(_status_or_404(request, tweet.id))


class StatusDetailView(MastodonView):
    permission_classes = [IsAuthenticatedOrReadOnly]

    def get(self, request: Request, status_id: str) -> Response:
        return Response(_status_or_404(request, _status_id(status_id)))

    def put(self, request: Request, status_id: str) -> Response:
        tweet_id = _status_id(status_id)
        fields = {}
        if "status" in request.data:
            fields["text"] = request.data["status"]
        media_ids = _list_param(request.data, "media_ids")
        if media_ids is not None:
            fields["media_ids"] = media_ids
        if request.data.get("spoiler_text"):
            raise ValidationError({"spoiler_text": ["Nexus has no content warnings."]})
        serializer = TweetEditInput(data=fields)
        serializer.is_valid(raise_exception=True)
        tweet, _ = api_services.tweet_edit(tweet_id=tweet_id, actor=request.user, **serializer.validated_data)
        rendered = api_selectors.tweet_render_written(tweet)
        return Response(entities.statuses_render([rendered], request=request)[0])

    def delete(self, request: Request, status_id: str) -> Response:
        tweet_id = _status_id(status_id)
        tweet = api_selectors.tweet_get(tweet_id=tweet_id, user=request.user)
        if tweet is None:
            raise NotFound("Record not found")
        api_services.tweet_delete(tweet_id=tweet_id, actor=request.user)
        # Mastodon answers with the deleted status and its source, for "delete and redraft".
        return Response({**entities.statuses_render([tweet], request=request)[0], "text": tweet["text"]})


class StatusSourceView(MastodonView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request, status_id: str) -> Response:
        tweet = api_selectors.tweet_get(tweet_id=_status_id(status_id), user=request.user)
        if tweet is None:
            raise NotFound("Record not found")
        return Response({"id": tweet["id"], "text": tweet["text"], "spoiler_text": ""})


class StatusHistoryView(MastodonView):
    permission_classes = [AllowAny]

    def get(self, request: Request, status_id: str) -> Response:
        tweet_id = _status_id(status_id)
        tweet = api_selectors.tweet_get(tweet_id=tweet_id, user=request.user)
        versions = api_selectors.tweet_versions(tweet_id=tweet_id, user=request.user)
        if tweet is None or versions is None:
            raise NotFound("Record not found")
        base = entities.base_url(request)
        account = entities.account_get(int(tweet["author"]["id"]), base=base)
        media = media_selectors.media_render_many(int(m) for v in versions for m in v["media_ids"])
        return Response(entities.status_edits_render(versions, account=account, media=media, base=base))


class StatusContextView(MastodonView):
    permission_classes = [AllowAny]

    def get(self, request: Request, status_id: str) -> Response:
        tweet_id = _status_id(status_id)
        tweet = api_selectors.tweet_get(tweet_id=tweet_id, user=request.user)
        if tweet is None:
            raise NotFound("Record not found")
        ancestors: list[int] = []
        parent = tweet["in_reply_to_id"]
        while parent and len(ancestors) < CONTEXT_MAX:
            found = api_selectors.tweet_get(tweet_id=int(parent), user=request.user)
            if found is None:
                break
            ancestors.append(int(found["id"]))
            parent = found["in_reply_to_id"]
        descendants: list[int] = []
        frontier = [tweet_id]
        while frontier and len(descendants) < CONTEXT_MAX:
            replies = list(
                Tweet.objects.published()
                .filter(in_reply_to_id__in=frontier)
                .order_by("id")
                .values_list("id", flat=True)[: CONTEXT_MAX - len(descendants)]
            )
            descendants.extend(replies)
            frontier = replies
        return Response(
            {"ancestors": _statuses(request, ancestors[::-1]), "descendants": _statuses(request, descendants)}
        )


class FavouriteView(MastodonView):
    permission_classes = [IsAuthenticated]

    def post(self, request: Request, status_id: str, action: str) -> Response:
        tweet_id = _status_id(status_id)
        engagement_services.like_set(user=request.user, tweet_id=tweet_id, liked=action == "favourite")
        return Response(_status_or_404(request, tweet_id))


class ReblogView(MastodonView):
    permission_classes = [IsAuthenticated]

    def post(self, request: Request, status_id: str, action: str) -> Response:
        tweet_id = _status_id(status_id)
        engagement_services.retweet_set(user=request.user, tweet_id=tweet_id, retweeted=action == "reblog")
        original = _status_or_404(request, tweet_id)
        if action == "unreblog":
            return Response(original)
        me = entities.account_get(request.user.pk, base=entities.base_url(request))
        return Response(entities.reblog_render(original, account=me))


class EngagedByView(MastodonView):
    """favourited_by / reblogged_by: accounts, newest first, Link-paginated by the fact's id."""

    permission_classes = [AllowAny]

    def get(self, request: Request, status_id: str, kind: str) -> Response:
        tweet_id = _status_id(status_id)
        _status_or_404(request, tweet_id)
        if kind == "favourited_by":
            queryset = liked_by_queryset(tweet_id=tweet_id)
        else:
            queryset = Retweet.objects.filter(tweet_id=tweet_id)
        rows, link = id_page(request, queryset.only("id", "user_id"), default=40, maximum=80)
        accounts = entities.accounts_get_many([r.user_id for r in rows], base=entities.base_url(request))
        response = Response([accounts[r.user_id] for r in rows if r.user_id in accounts])
        if link:
            response["Link"] = link
        return response


class NotAvailableStatusActionView(MastodonView):
    permission_classes = [IsAuthenticated]

    def post(self, request: Request, status_id: str, action: str) -> Response:
        raise Unprocessable(f"Nexus has no {action.replace('un', '', 1)}s.", code="not_supported")


# --- media ---------------------------------------------------------------------------------
class MediaV2View(MastodonView, MediaUploadView):
    """`POST /api/v2/media`: the native upload (size limit while streaming,
    every check in media.services); 200 when processed, 202 while processing."""

    def post(self, request: Request) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": ["No file was submitted."]})
        description = request.data.get("description") or ""
        media = media_services.media_upload(owner=request.user, file=upload, alt_text=description)
        rendered = media_selectors.media_get(media_id=media.id)
        body = entities.media_attachment(rendered, base=entities.base_url(request))
        return Response(body, status=status.HTTP_200_OK if body["url"] else status.HTTP_202_ACCEPTED)


class MediaDetailView(MastodonView):
    """`GET /api/v1/media/:id` serves both APIs (native media JSON + MediaAttachment);
    `PUT` sets the description (alt text), Mastodon's way."""

    permission_classes = [IsAuthenticatedOrReadOnly]
    schema = NexusAutoSchema()  # the native operation stays in /api/schema

    def get_exception_handler(self):
        # The native error body on the shared path: /api/schema promises its one
        # Error shape for every operation (Mastodon clients branch on the status).
        return native_exception_handler

    @extend_schema(
        responses={200: MediaSupersetOutput},
        summary="Media and its processing status (also a Mastodon MediaAttachment)",
    )
    def get(self, request: Request, media_id: str) -> Response:
        media = media_selectors.media_get(media_id=_media_id(media_id))
        if media is None:
            raise NotFound("No such media.")
        return Response(entities.media_superset(media, base=entities.base_url(request)))

    @extend_schema(exclude=True)
    def put(self, request: Request, media_id: str) -> Response:
        description = request.data.get("description")
        if description is None:
            raise ValidationError({"description": ["Pass the description (alt text)."]})
        media_services.media_describe(media_id=_media_id(media_id), owner=request.user, alt_text=description)
        media = media_selectors.media_get(media_id=_media_id(media_id))
        return Response(entities.media_superset(media, base=entities.base_url(request)))


# --- timelines, search, trends -------------------------------------------------------------
class PublicTimelineView(MastodonView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        if request.query_params.get("remote") in ("true", "1"):
            return Response([])  # every Nexus post is local
        queryset = Tweet.objects.published()
        if request.query_params.get("only_media") in ("true", "1"):
            queryset = queryset.exclude(media_ids=[])
        return _page(request, queryset)


class TagTimelineView(MastodonView):
    permission_classes = [AllowAny]

    def get(self, request: Request, hashtag: str) -> Response:
        tag = hashtag_normalize(hashtag)
        if tag is None:
            raise NotFound("Record not found")
        tagged = TweetHashtag.objects.filter(tag=tag).values("tweet_id")
        return _page(request, Tweet.objects.published().filter(id__in=tagged))


class HomeTimelineView(MastodonView):
    """Nexus has no follows: home is the caller's own posts (Mastodon's home shows those too)."""

    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return _page(request, Tweet.objects.published().filter(author_id=request.user.pk))


class FavouritesView(MastodonView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        rows, link = id_page(request, Like.objects.filter(user_id=request.user.pk).only("id", "tweet_id"))
        response = Response(_statuses(request, [r.tweet_id for r in rows]))
        if link:
            response["Link"] = link
        return response


class SearchV2View(MastodonView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        query = request.query_params.get("q", "")
        kind = request.query_params.get("type")
        limit = limit_from(request, default=20, maximum=40)
        offset = offset_from(request)
        result: dict = {"accounts": [], "statuses": [], "hashtags": []}
        if not query.strip():
            return Response(result)
        if kind in (None, "", "accounts"):
            result["accounts"] = _accounts_search(request, query)[offset : offset + limit]
        if kind in (None, "", "hashtags"):
            tag = hashtag_normalize(query)
            stat = hashtag_get(tag=tag) if tag else None
            if stat is not None and offset == 0:
                result["hashtags"] = [entities.tag_render(stat, base=entities.base_url(request))]
        if kind in (None, "", "statuses"):
            queryset = search_queryset(query)
            if account_id := request.query_params.get("account_id"):
                queryset = queryset.filter(author_id=_user_id(account_id))
            rows, _ = (
                id_page(request, queryset.only("id"))
                if not offset
                else (list(queryset.only("id").order_by("-id")[offset : offset + limit]), None)
            )
            result["statuses"] = _statuses(request, [r.id for r in rows])
        return Response(result)


class TrendingStatusesView(MastodonView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        limit = limit_from(request, default=20, maximum=40)
        offset = offset_from(request)
        ranked = api_selectors.trending_get(
            window_seconds=TRENDS_WINDOW_SECONDS, limit=offset + limit, user=request.user
        )
        tweets = [entry["tweet"] for entry in ranked[offset:]]
        return Response(entities.statuses_render(tweets, request=request))


class TrendingTagsView(MastodonView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        limit = limit_from(request, default=10, maximum=20)
        base = entities.base_url(request)
        tags = [hashtag_get(tag=row["tag"]) for row in hashtags_trending(limit=limit)]
        return Response([entities.tag_render(stat, base=base) for stat in tags if stat is not None])


# --- what Nexus does not have --------------------------------------------------------------
class EmptyListView(MastodonView):
    """Notifications, lists, filters, bookmarks, ...: Nexus has none, so none are listed."""

    permission_classes = [IsAuthenticated]

    def get(self, request: Request, **kwargs) -> Response:
        return Response([])


class PublicEmptyListView(EmptyListView):
    permission_classes = [AllowAny]


class PreferencesView(MastodonView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response(
            {
                "posting:default:visibility": "public",
                "posting:default:sensitive": False,
                "posting:default:language": None,
                "reading:expand:media": "default",
                "reading:expand:spoilers": False,
            }
        )


class MarkersView(MastodonView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({})


class NotAvailableView(MastodonView):
    """Streaming, lists, conversations and the like: a clear 404."""

    permission_classes = [AllowAny]

    def dispatch(self, request, *args, **kwargs):
        self.feature = kwargs.pop("feature", "this feature")
        return super().dispatch(request, *args, **kwargs)

    def _missing(self, request: Request, **kwargs) -> Response:
        raise NotFound(f"Nexus has no {self.feature}.")

    get = post = put = patch = delete = _missing
