"""PrebuiltFieldsSerializer validates exactly as DRF's serializer does, with
fields built once per thread and no state carried between validations."""

from __future__ import annotations

import copy
import threading

import pytest
from rest_framework import serializers

from tweets.serializers import TweetCreateInput

# The same declared fields on a stock DRF serializer: the reference behaviour.
StockTweetCreateInput = type(
    "StockTweetCreateInput", (serializers.Serializer,), copy.deepcopy(TweetCreateInput._declared_fields)
)

INPUTS = [
    {"text": "hello"},
    {"text": "hi", "media_ids": ["1", 2], "draft": True, "in_reply_to_id": "7"},
    {},
    {"text": None},
    {"text": 5, "draft": "maybe"},
    {"text": "x", "media_ids": ["1", "2", "3", "4", "5"]},
    {"text": "x", "media_ids": "12"},
    {"text": "x", "quote_of_id": "-1", "in_reply_to_id": True},
    {"text": "x" * 4001},
]


@pytest.mark.parametrize("data", INPUTS)
def test_validation_is_the_stock_serializers(data):
    ours, stock = TweetCreateInput(data=data), StockTweetCreateInput(data=data)
    assert ours.is_valid() == stock.is_valid()
    assert ours.errors == stock.errors
    if stock.is_valid():
        assert ours.validated_data == stock.validated_data


def test_fields_are_built_once_per_thread():
    assert TweetCreateInput(data={}).fields is TweetCreateInput(data={}).fields
    seen = []
    worker = threading.Thread(target=lambda: seen.append(TweetCreateInput(data={}).fields))
    worker.start()
    worker.join()
    assert seen[0] is not TweetCreateInput(data={}).fields


def test_concurrent_validations_do_not_mix():
    failures = []

    def validate(n: int) -> None:
        for i in range(200):
            text = f"thread {n} post {i}"
            data = TweetCreateInput(data={"text": text, "media_ids": [str(n + 1)]} if i % 2 else {"draft": "maybe"})
            if i % 2:
                ok = data.is_valid() and data.validated_data == {"text": text, "media_ids": [n + 1], "draft": False}
            else:
                ok = not data.is_valid() and set(data.errors) == {"text", "draft"}
            if not ok:
                failures.append((n, i, data.errors))

    threads = [threading.Thread(target=validate, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
