"""Thin HTTP layer: parse, call a selector, render."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import selectors
from analytics.serializers import (
    HashtagOutput,
    TrendingHashtagsOutput,
    TrendingHashtagsQuery,
)
from nexus.schema import ErrorOutput


class HashtagTrendingView(APIView):
    @extend_schema(
        parameters=[TrendingHashtagsQuery],
        responses=TrendingHashtagsOutput,
        summary="Hashtags ranked by growth in the last hour against the day before",
    )
    def get(self, request: Request) -> Response:
        query = TrendingHashtagsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response({"results": selectors.hashtags_trending(limit=query.validated_data["limit"])})


class HashtagView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "tag",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="One hashtag, with or without its leading '#' (URL-encoded as %23); any case",
            )
        ],
        responses={200: HashtagOutput, 400: ErrorOutput},  # 400: not one hashtag
        summary="A hashtag's tweet count, last use and uses per hour over the last 24 h",
    )
    def get(self, request: Request, tag: str) -> Response:
        normalized = selectors.hashtag_normalize(tag)
        if normalized is None:
            raise ParseError("Not a hashtag: give exactly one tag, e.g. 'python' or '#Python'.")
        result = selectors.hashtag_get(tag=normalized)
        if result is None:
            raise NotFound("This hashtag has never been used.")
        return Response(result)
