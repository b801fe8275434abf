"""Thin HTTP layer for media: parse, call a service or selector, render."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import load_handler
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from media import selectors, services
from media.serializers import MediaOutput, MediaUploadInput
from media.uploads import SizeLimitUploadHandler


class MediaUploadView(APIView):
    parser_classes = [MultiPartParser]
    permission_classes = [IsAuthenticated]

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body (DRF parsing, a CSRF check): the size
        # limit is enforced while the upload streams in.
        request.upload_handlers = [
            SizeLimitUploadHandler(request),
            *(load_handler(path, request) for path in settings.FILE_UPLOAD_HANDLERS),
        ]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": MediaUploadInput},
        responses={202: MediaOutput},
        summary="Upload an image (JPEG, PNG, GIF, WebP); variants are made in the background",
    )
    def post(self, request: Request) -> Response:
        serializer = MediaUploadInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        media = services.media_upload(
            owner=request.user, file=serializer.validated_data["file"], alt_text=serializer.validated_data["alt_text"]
        )
        return Response(selectors.media_render(media), status=status.HTTP_202_ACCEPTED)


class MediaDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=MediaOutput, summary="Media and its processing status")
    def get(self, request: Request, media_id: int) -> Response:
        media = selectors.media_get(media_id=media_id)
        if media is None:
            raise NotFound("No such media.")
        return Response(media)
