import threading

import pytest
from django.db import OperationalError, connection, transaction

from tweets.models import TweetContent
from tweets.services import content_store

pytestmark = pytest.mark.django_db


def test_identical_text_is_one_row():
    with transaction.atomic():
        first = content_store(text="twice")
        second = content_store(text="twice")
    assert first.hash == second.hash and TweetContent.objects.filter(hash=first.hash).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_existing_row_is_pinned_until_the_referencing_transaction_commits():
    """The lifecycle deletes content rows nothing references; a writer that
    found the row existing must keep it alive until its own reference commits."""
    with transaction.atomic():
        existing = content_store(text="shared words")
    pinned, release = threading.Event(), threading.Event()

    def writer():
        try:
            with transaction.atomic():
                content_store(text="shared words")  # finds the row existing
                pinned.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    assert pinned.wait(10)
    try:
        with pytest.raises(OperationalError, match="lock"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '300ms'")
            cursor.execute("DELETE FROM tweets_tweetcontent WHERE hash = %s", [existing.hash])
    finally:
        release.set()
        thread.join()
    assert TweetContent.objects.filter(hash=existing.hash).exists()
