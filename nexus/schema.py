"""The OpenAPI schema's rules (drf-spectacular's DEFAULT_SCHEMA_CLASS).

`NexusAutoSchema` makes the schema say what the server does, by rule rather
than per view:

- every operation declares the error responses it can return, each with the
  one error shape (`Error`, nexus.errors): 400 when it takes a body or query
  parameters, 401 for every operation (a bad token is refused everywhere),
  403 for writes, 404 for operations on a path with an id, 413/415 for a
  body, 429 (with Retry-After) for writes under the write throttle, 503
  (with Retry-After) everywhere, since any dependency may be down; a view
  adds its own (409, 412, ...) in `extend_schema(responses=...)`;
- request bodies are declared as JSON only (the server also parses form
  data, but one declared encoding keeps generated clients from sending each
  field twice); a view that parses only multipart (the media upload) keeps it;
- response objects declare every key they carry (additionalProperties:
  false), so a renderer that drifts from its serializer fails conformance;
- descriptions come only from what is written for clients (`extend_schema`'s
  description, a field's help_text), never from internal docstrings.
"""

from __future__ import annotations

from http import HTTPStatus

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_override
from rest_framework import serializers

from nexus.throttling import SAFE_METHODS, WriteRateThrottle

JSON = "application/json"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
RETRY_AFTER = {
    "Retry-After": {"schema": {"type": "integer", "minimum": 1}, "description": "Seconds to wait before retrying"}
}


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, for humans")
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. invalid, not_found, edit_window_closed")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Per-field messages (validation errors only)",
    )


# The name the views' annotations use.
ErrorOutput = ErrorSerializer


class NexusAutoSchema(AutoSchema):
    def get_description(self) -> str:
        return ""  # docstrings are for maintainers; extend_schema(description=...) still applies

    def map_parsers(self) -> list:
        media_types = super().map_parsers()
        return [JSON] if JSON in media_types else media_types

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if get_override(serializer, "description") is None:
            schema.pop("description", None)
        if direction == "response":
            # A key the serializer does not declare is a bug the conformance
            # tests must see, not something clients silently receive.
            schema["additionalProperties"] = False
        return schema

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_codes():
            key = str(code)
            if key not in responses:
                responses[key] = self._get_response_for_code(ErrorSerializer, key, direction=direction)
            if code in (429, 503):
                responses[key].setdefault("headers", {}).update(RETRY_AFTER)
        for key, response in responses.items():
            if not response.get("description"):
                response["description"] = HTTPStatus(int(key)).phrase
        return dict(sorted(responses.items()))

    def _error_codes(self) -> list[int]:
        method = self.method.upper()
        has_body = method in BODY_METHODS and self.get_request_serializer() is not None
        has_query = any(
            getattr(p, "location", "query") == "query" for p in self.get_override_parameters() if p is not None
        )
        codes = [401, 503]
        if has_body or has_query:
            codes.append(400)
        if has_body:
            codes += [413, 415]
        if method not in SAFE_METHODS:
            codes.append(403)
            if any(issubclass(t, WriteRateThrottle) for t in self.view.throttle_classes):
                codes.append(429)
        if "{" in self.path:
            codes.append(404)
        return codes
