"""Thin HTTP layer for everything that returns tweets: parse, call a use-case
(api.services) or a read (api.selectors), render. Ids arrive parsed by the
`snowflake` path converter (nexus.converters)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.serializers import SimilarOutput, SimilarQuery
from api import selectors, services
from engagement.serializers import TrendingOutput, TrendingQuery
from nexus.pagination import keyset_page, page_parameters, page_size_from
from nexus.roles import user_can_read_events
from nexus.schema import ErrorOutput
from nexus.snowflake import id_parse
from tweets.models import Tweet, TweetState
from tweets.outbox import events_after
from tweets.search import search_queryset
from tweets.selectors import etag_version, tweet_etag
from tweets.serializers import (
    EventPageOutput,
    RollbackInput,
    TweetCreateInput,
    TweetEditInput,
    TweetListOutput,
    TweetOutput,
    TweetPageOutput,
    VersionListOutput,
)

MAX_BATCH_IDS = 100
MAX_IDEMPOTENCY_KEY = 255


def _tweet_or_404(tweet_id: int, user) -> dict:
    tweet = selectors.tweet_get(tweet_id=tweet_id, user=user)
    if tweet is None:
        raise NotFound("No such tweet.")
    return tweet


def _if_match_version(request: Request) -> int | None:
    header = request.headers.get("If-Match")
    if not header or header.strip() == "*":
        return None
    version = etag_version(header.split(",")[0])
    # An ETag we never issued cannot match the current one.
    return version if version is not None else -1


def _tweet_response(tweet: dict, status_code: int = status.HTTP_200_OK) -> Response:
    return Response(tweet, status=status_code, headers={"ETag": tweet_etag(tweet)})


def _page_of_tweets(request: Request, queryset) -> Response:
    rows, next_url = keyset_page(request, queryset.only("id", "published_at"))
    tweets = selectors.tweets_get_many(tweet_ids=[r.id for r in rows], user=request.user)
    return Response({"results": tweets, "next": next_url})


class TweetCollectionView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("ids", OpenApiTypes.STR, required=True, description="Comma-separated ids (≤ 100)")
        ],
        responses={200: TweetListOutput},
        summary="Batch lookup, in the order asked",
        operation_id="tweets_batch_get",
    )
    def get(self, request: Request) -> Response:
        raw = request.query_params.get("ids")
        if raw is None:
            raise ValidationError({"ids": ["Pass ids=a,b,c (at most 100)."]})
        parts = [p.strip() for p in raw.split(",") if p.strip()]
        if not parts:
            raise ValidationError({"ids": ["Pass at least one id."]})
        if len(parts) > MAX_BATCH_IDS:
            raise ValidationError({"ids": [f"At most {MAX_BATCH_IDS} ids per request."]})
        ids = [id_parse(p) for p in parts]
        bad = [p for p, parsed in zip(parts, ids, strict=True) if parsed is None]
        if bad:
            raise ValidationError({"ids": [f"Not tweet ids: {', '.join(bad[:5])}."]})
        tweets = selectors.tweets_get_many(tweet_ids=ids, user=request.user)
        return Response({"results": tweets})

    @extend_schema(
        request=TweetCreateInput,
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER)],
        # 404: the key's tweet is gone; 422: the key was used with another body.
        responses={201: TweetOutput, 404: ErrorOutput, 422: ErrorOutput},
        summary="Post a tweet or a draft",
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key")
        if key is not None and not (0 < len(key) <= MAX_IDEMPOTENCY_KEY):
            raise ValidationError({"Idempotency-Key": [f"Must be 1–{MAX_IDEMPOTENCY_KEY} characters."]})
        data = TweetCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        tweet, created = services.tweet_create(author=request.user, idempotency_key=key, **data.validated_data)
        if created:
            rendered = selectors.tweet_render_written(tweet, created=True)
        else:
            rendered = selectors.tweet_get(tweet_id=tweet.id, user=request.user)
            if rendered is None:
                raise NotFound("The tweet for this Idempotency-Key no longer exists.")
        response = _tweet_response(rendered, status.HTTP_201_CREATED)
        response["Location"] = f"/api/v1/tweets/{tweet.id}"
        if not created:
            response["Idempotent-Replayed"] = "true"
        return response


class TweetDetailView(APIView):
    @extend_schema(responses={200: TweetOutput, 304: None}, summary="Get a tweet (ETag / 304)")
    def get(self, request: Request, tweet_id: int) -> Response:
        tweet = _tweet_or_404(tweet_id, request.user)
        etag = tweet_etag(tweet)
        if_none_match = request.headers.get("If-None-Match", "")
        if etag in [t.strip() for t in if_none_match.split(",")] or if_none_match.strip() == "*":
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        return Response(tweet, headers={"ETag": etag})

    @extend_schema(
        request=TweetEditInput,
        parameters=[OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER)],
        responses={200: TweetOutput, 409: ErrorOutput, 412: ErrorOutput},
        summary="Edit a tweet (new version)",
    )
    def patch(self, request: Request, tweet_id: int) -> Response:
        data = TweetEditInput(data=request.data)
        data.is_valid(raise_exception=True)
        tweet, _ = services.tweet_edit(
            tweet_id=tweet_id,
            actor=request.user,
            if_match_version=_if_match_version(request),
            **data.validated_data,
        )
        return _tweet_response(selectors.tweet_render_written(tweet))

    @extend_schema(responses={204: None}, summary="Delete a tweet (soft)")
    def delete(self, request: Request, tweet_id: int) -> Response:
        services.tweet_delete(tweet_id=tweet_id, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TweetVersionsView(APIView):
    @extend_schema(responses={200: VersionListOutput}, summary="All versions, oldest first")
    def get(self, request: Request, tweet_id: int) -> Response:
        versions = selectors.tweet_versions(tweet_id=tweet_id, user=request.user)
        if versions is None:
            raise NotFound("No such tweet.")
        return Response({"results": versions})


class TweetRollbackView(APIView):
    @extend_schema(
        request=RollbackInput,
        responses={200: TweetOutput, 409: ErrorOutput, 412: ErrorOutput},
        summary="Roll back to an earlier version (as a new version)",
    )
    def post(self, request: Request, tweet_id: int) -> Response:
        data = RollbackInput(data=request.data)
        data.is_valid(raise_exception=True)
        tweet, _ = services.tweet_rollback(
            tweet_id=tweet_id,
            actor=request.user,
            version=data.validated_data["version"],
            if_match_version=_if_match_version(request),
        )
        return _tweet_response(selectors.tweet_render_written(tweet))


class TweetPublishView(APIView):
    @extend_schema(request=None, responses={200: TweetOutput, 409: ErrorOutput}, summary="Publish a draft")
    def post(self, request: Request, tweet_id: int) -> Response:
        tweet = services.tweet_publish(tweet_id=tweet_id, actor=request.user)
        return _tweet_response(selectors.tweet_render_written(tweet))


class DraftListView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=page_parameters(),
        responses={200: TweetPageOutput},
        summary="The caller's drafts, newest first",
    )
    def get(self, request: Request) -> Response:
        drafts = Tweet.objects.not_gone().filter(author=request.user, state=TweetState.DRAFT)
        rows, next_url = keyset_page(request, drafts.only("id", "created_at"), fields=("created_at", "id"))
        tweets = selectors.tweets_get_many(tweet_ids=[r.id for r in rows], user=request.user)
        return Response({"results": tweets, "next": next_url})


class UserTimelineView(APIView):
    @extend_schema(
        parameters=page_parameters(),
        responses={200: TweetPageOutput},
        summary="A user's published tweets, newest first",
    )
    def get(self, request: Request, username: str) -> Response:
        user_id = get_user_model().objects.filter(username=username).values_list("id", flat=True).first()
        if user_id is None:
            raise NotFound("No such user.")
        return _page_of_tweets(request, Tweet.objects.published().filter(author_id=user_id))


class SearchView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, required=True, description="Words, #hashtag, from:username"),
            *page_parameters(),
        ],
        responses={200: TweetPageOutput},
        summary="Full-text search over published hot and warm tweets",
    )
    def get(self, request: Request) -> Response:
        return _page_of_tweets(request, search_queryset(request.query_params.get("q", "")))


class EventFeedView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=page_parameters(default=100, cursor="after"),
        responses={200: EventPageOutput, 403: ErrorOutput},
        summary="Outbox events after a cursor (moderator/service tokens)",
    )
    def get(self, request: Request) -> Response:
        if not user_can_read_events(request.user):
            raise PermissionDenied("The event feed is for moderator and service tokens.")
        limit = page_size_from(request, default=100)
        results, next_cursor = events_after(after=request.query_params.get("after"), limit=limit)
        return Response({"results": results, "next_cursor": next_cursor})


class TrendingView(APIView):
    @extend_schema(
        parameters=[TrendingQuery],
        responses={200: TrendingOutput},
        summary="Tweets ranked by weighted engagement per minute in the window",
    )
    def get(self, request: Request) -> Response:
        query = TrendingQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        results = selectors.trending_get(
            window_seconds=query.validated_data["window"], limit=query.validated_data["limit"], user=request.user
        )
        return Response({"results": results})


class SimilarView(APIView):
    @extend_schema(
        parameters=[SimilarQuery],
        responses={200: SimilarOutput},
        summary="Published hot and warm tweets with the nearest engagement vector, nearest first",
    )
    def get(self, request: Request, tweet_id: int) -> Response:
        query = SimilarQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        results = selectors.tweet_similar(tweet_id=tweet_id, user=request.user, limit=query.validated_data["limit"])
        if results is None:
            raise NotFound("No such tweet.")
        return Response({"results": results})
