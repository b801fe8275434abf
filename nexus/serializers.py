"""Serializer helpers shared by the apps."""

from __future__ import annotations

import threading

from django.utils.functional import cached_property
from rest_framework import serializers

_built_fields = threading.local()


class PrebuiltFieldsSerializer(serializers.Serializer):
    """An input serializer whose fields are built once per thread.

    DRF deep-copies a serializer's declared fields on every instantiation,
    which re-creates each field (and a list field's child): on the post path
    that was 5% of the request's CPU, for fields that never change. Here each
    thread deep-copies and binds them once, to a prototype instance of the
    class, and every later instance in that thread validates with those.

    Only for flat input serializers validated with `is_valid()`: the fields'
    parent is the prototype, so they see its (empty) context and its
    `partial=False`, never the caller's."""

    @cached_property
    def fields(self):
        built = _built_fields.__dict__.setdefault("by_class", {})
        fields = built.get(type(self))
        if fields is None:
            # DRF's own construction (deep copy, then bind), run on the prototype.
            fields = built[type(self)] = serializers.Serializer.fields.func(type(self)())
        return fields
