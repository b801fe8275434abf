"""Thin HTTP layer: parse, call a service or selector, render."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engagement import selectors, services
from engagement.serializers import (
    EngagementOutput,
    LikedByPageOutput,
    LikeOutput,
    RetweetOutput,
    ViewsInput,
    ViewsOutput,
)
from nexus.pagination import keyset_page
from nexus.schema import ErrorOutput
from tweets.selectors import tweet_ids_visible_to

WRITE_ERRORS = {401: ErrorOutput, 404: ErrorOutput}


def _visible_tweet_id(tweet_id: int, user) -> int:
    if not tweet_ids_visible_to([tweet_id], user):
        raise NotFound("No such tweet.")
    return tweet_id


class LikeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: LikeOutput, **WRITE_ERRORS}, summary="Like a tweet (idempotent)")
    def post(self, request: Request, tweet_id: int) -> Response:
        likes = services.like_set(user=request.user, tweet_id=tweet_id, liked=True)
        return Response({"liked": True, "likes": likes})

    @extend_schema(responses={200: LikeOutput, **WRITE_ERRORS}, summary="Un-like a tweet (idempotent)")
    def delete(self, request: Request, tweet_id: int) -> Response:
        likes = services.like_set(user=request.user, tweet_id=tweet_id, liked=False)
        return Response({"liked": False, "likes": likes})


class RetweetView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: RetweetOutput, **WRITE_ERRORS}, summary="Retweet (idempotent)")
    def post(self, request: Request, tweet_id: int) -> Response:
        retweets = services.retweet_set(user=request.user, tweet_id=tweet_id, retweeted=True)
        return Response({"retweeted": True, "retweets": retweets})

    @extend_schema(responses={200: RetweetOutput, **WRITE_ERRORS}, summary="Undo a retweet (idempotent)")
    def delete(self, request: Request, tweet_id: int) -> Response:
        retweets = services.retweet_set(user=request.user, tweet_id=tweet_id, retweeted=False)
        return Response({"retweeted": False, "retweets": retweets})


class ViewsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=ViewsInput,
        responses={202: ViewsOutput, 400: ErrorOutput, 401: ErrorOutput},
        summary="Count one view per tweet id (≤ 100; unknown ids ignored)",
    )
    def post(self, request: Request) -> Response:
        data = ViewsInput(data=request.data)
        data.is_valid(raise_exception=True)
        counted = services.views_record(tweet_ids=data.validated_data["tweet_ids"], user=request.user)
        return Response({"counted": counted}, status=status.HTTP_202_ACCEPTED)


class EngagementView(APIView):
    @extend_schema(
        responses={200: EngagementOutput, 404: ErrorOutput}, summary="Counts, velocity and the last hour per minute"
    )
    def get(self, request: Request, tweet_id: int) -> Response:
        return Response(selectors.engagement_get(tweet_id=_visible_tweet_id(tweet_id, request.user)))


class LikedByView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", OpenApiTypes.STR),
            OpenApiParameter("limit", OpenApiTypes.INT, description="1–100, default 20"),
        ],
        responses={200: LikedByPageOutput, 400: ErrorOutput, 404: ErrorOutput},
        summary="Users who liked the tweet, newest first",
    )
    def get(self, request: Request, tweet_id: int) -> Response:
        queryset = selectors.liked_by_queryset(tweet_id=_visible_tweet_id(tweet_id, request.user))
        rows, next_url = keyset_page(request, queryset, fields=("created_at", "id"))
        results = [{"id": str(like.user_id), "username": like.user.username} for like in rows]
        return Response({"results": results, "next": next_url})
