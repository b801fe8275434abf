"""DRF's JSON and form parsers, with two malformed bodies answered 400 (DRF's
ParseError) instead of a 500 or silent damage: JSON nested deeper than the
interpreter's recursion limit, and form data that is not valid in its charset
(Django's QueryDict would store U+FFFD in place of the bad bytes)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        raw = stream.read()
        try:
            parse_qsl(raw.decode(encoding), keep_blank_values=True, encoding=encoding, errors="strict")
        except UnicodeDecodeError as exc:
            raise ParseError(f"Form data is not valid {encoding}.") from exc
        return QueryDict(raw, encoding=encoding)
