"""Thin HTTP layer: parse, call a service or selector, render."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
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
from nexus.pagination import keyset_page, page_parameters
from tweets.selectors import tweet_ids_visible_to


def _visible_tweet_id(tweet_id: int, user) -> int:
    if not tweet_ids_visible_to([tweet_id], user):
        raise NotFound("No such tweet.")
    return tweet_id


class LikeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=LikeOutput, summary="Like a tweet (idempotent)")
    def post(self, request: Request, tweet_id: int) -> Response:
        likes = services.like_set(user=request.user, tweet_id=tweet_id, liked=True)
        return Response({"liked": True, "likes": likes})

    @extend_schema(responses={200: LikeOutput}, summary="Un-like a tweet (idempotent)")
    def delete(self, request: Request, tweet_id: int) -> Response:
        likes = services.like_set(user=request.user, tweet_id=tweet_id, liked=False)
        return Response({"liked": False, "likes": likes})


class RetweetView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=RetweetOutput, summary="Retweet (idempotent)")
    def post(self, request: Request, tweet_id: int) -> Response:
        retweets = services.retweet_set(user=request.user, tweet_id=tweet_id, retweeted=True)
        return Response({"retweeted": True, "retweets": retweets})

    @extend_schema(responses={200: RetweetOutput}, summary="Undo a retweet (idempotent)")
    def delete(self, request: Request, tweet_id: int) -> Response:
        retweets = services.retweet_set(user=request.user, tweet_id=tweet_id, retweeted=False)
        return Response({"retweeted": False, "retweets": retweets})


class ViewsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=ViewsInput,
        responses={202: ViewsOutput},
        summary="Count one view per tweet id (≤ 100; unknown ids ignored)",
    )
    def post(self, request: Request) -> Response:
        data = ViewsInput(data=request.data)
        data.is_valid(raise_exception=True)
        counted = services.views_record(tweet_ids=data.validated_data["tweet_ids"], user=request.user)
        return Response({"counted": counted}, status=status.HTTP_202_ACCEPTED)


class EngagementView(APIView):
    @extend_schema(responses=EngagementOutput, summary="Counts, velocity and the last hour per minute")
    def get(self, request: Request, tweet_id: int) -> Response:
        return Response(selectors.engagement_get(tweet_id=_visible_tweet_id(tweet_id, request.user)))


class LikedByView(APIView):
    @extend_schema(
        parameters=page_parameters(),
        responses=LikedByPageOutput,
        summary="Users who liked the tweet, newest first",
    )
    def get(self, request: Request, tweet_id: int) -> Response:
        queryset = selectors.liked_by_queryset(tweet_id=_visible_tweet_id(tweet_id, request.user))
        rows, next_url = keyset_page(request, queryset, fields=("created_at", "id"))
        results = [{"id": str(like.user_id), "username": like.user.username} for like in rows]
        return Response({"results": results, "next": next_url})
