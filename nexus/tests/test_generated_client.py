"""A client generated from the live /api/schema by openapi-python-client works
against the live server without hand-patching: it is generated into a temp
dir, imported, and drives the main flows; every response, success or error,
is parsed by the generated models (an undeclared status raises)."""

from __future__ import annotations

import importlib
import io
import subprocess
import sys

import pytest

from media.tests.conftest import media_root  # noqa: F401 - fixture
from media.tests.factories import jpeg_bytes

PACKAGE = "nexus_client"


@pytest.fixture
def generated_client(live_server, tmp_path):
    config = tmp_path / "openapi-python-client.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run: the code is imported as generated
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--url",
            f"{live_server.url}/api/schema",
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / PACKAGE),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _api(name: str):
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def _models():
    return importlib.import_module(f"{PACKAGE}.models")


def _client(package, live_server, token: str):
    return package.AuthenticatedClient(
        base_url=live_server.url, token=token, prefix="Bearer", raise_on_unexpected_status=True
    )


def _token(user) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=user)[0].key


@pytest.mark.django_db(transaction=True)
def test_the_generated_client_runs_every_main_flow(generated_client, live_server, make_user, media_root, settings):  # noqa: F811
    m = _models()
    types = importlib.import_module(f"{PACKAGE}.types")
    alice = _client(generated_client, live_server, _token(make_user("alice")))
    bob = _client(generated_client, live_server, _token(make_user("bob")))

    # create (with media): upload, then post a tweet carrying it
    upload = _api("media.media_create").sync_detailed(
        client=alice,
        body=m.MediaUploadInputRequest(
            file=types.File(payload=io.BytesIO(jpeg_bytes(64, 48)), file_name="cat.jpg", mime_type="image/jpeg"),
            alt_text="a cat",
        ),
    )
    assert upload.status_code == 202 and isinstance(upload.parsed, m.MediaOutput)
    media_id = upload.parsed.id
    created = _api("tweets.tweets_create").sync_detailed(
        client=alice,
        body=m.TweetCreateInputRequest(text="hello #nexus", media_ids=[media_id]),
        idempotency_key="client-test-1",
    )
    assert created.status_code == 201 and isinstance(created.parsed, m.TweetOutput)
    tweet = created.parsed
    assert tweet.text == "hello #nexus" and [x.id for x in tweet.media] == [media_id]
    assert tweet.state == m.StateEnum.PUBLISHED and tweet.metrics.likes == 0

    # read (with its ETag)
    read = _api("tweets.tweets_retrieve").sync_detailed(tweet.id, client=bob)
    assert read.status_code == 200 and isinstance(read.parsed, m.TweetOutput)
    assert read.parsed.id == tweet.id and read.parsed.media[0].alt_text == "a cat"
    etag = read.headers["ETag"]

    # edit (If-Match), then a stale If-Match is refused with 412
    edited = _api("tweets.tweets_partial_update").sync_detailed(
        tweet.id, client=alice, body=m.PatchedTweetEditInputRequest(text="hello again #nexus"), if_match=etag
    )
    assert edited.status_code == 200 and isinstance(edited.parsed, m.TweetOutput)
    assert edited.parsed.version == 2 and edited.parsed.state == m.StateEnum.EDITED
    stale = _api("tweets.tweets_partial_update").sync_detailed(
        tweet.id, client=alice, body=m.PatchedTweetEditInputRequest(text="lost update"), if_match=etag
    )
    assert stale.status_code == 412 and isinstance(stale.parsed, m.Error)
    assert stale.parsed.code == "precondition_failed"

    # versions, rollback
    versions = _api("tweets.tweets_versions_retrieve").sync_detailed(tweet.id, client=bob)
    assert versions.status_code == 200 and isinstance(versions.parsed, m.VersionListOutput)
    assert [v.text for v in versions.parsed.results] == ["hello #nexus", "hello again #nexus"]
    assert versions.parsed.results[0].media_ids == [media_id]
    rolled = _api("tweets.tweets_rollback_create").sync_detailed(
        tweet.id, client=alice, body=m.RollbackInputRequest(version=1)
    )
    assert rolled.status_code == 200 and isinstance(rolled.parsed, m.TweetOutput)
    assert rolled.parsed.version == 3 and rolled.parsed.text == "hello #nexus"

    # like, views
    liked = _api("tweets.tweets_like_create").sync_detailed(tweet.id, client=bob)
    assert liked.status_code == 200 and isinstance(liked.parsed, m.LikeOutput)
    assert liked.parsed.liked is True and liked.parsed.likes == 1
    viewed = _api("views.views_create").sync_detailed(client=bob, body=m.ViewsInputRequest(tweet_ids=[tweet.id]))
    assert viewed.status_code == 202 and isinstance(viewed.parsed, m.ViewsOutput)
    assert viewed.parsed.counted == 1

    # search, batch read
    other = _api("tweets.tweets_create").sync_detailed(client=bob, body=m.TweetCreateInputRequest(text="bob's own"))
    assert other.status_code == 201
    found = _api("search.search_retrieve").sync_detailed(client=bob, q="#nexus")
    assert found.status_code == 200 and isinstance(found.parsed, m.TweetPageOutput)
    assert [t.id for t in found.parsed.results] == [tweet.id]
    batch = _api("tweets.tweets_batch_get").sync_detailed(client=bob, ids=f"{other.parsed.id},{tweet.id},1")
    assert batch.status_code == 200 and isinstance(batch.parsed, m.TweetListOutput)
    assert [t.id for t in batch.parsed.results] == [other.parsed.id, tweet.id]
    assert batch.parsed.results[1].metrics.likes == 1

    # rejected requests: 400 (with per-field messages), 404, 409, 429
    too_long = _api("tweets.tweets_create").sync_detailed(client=alice, body=m.TweetCreateInputRequest(text="x" * 281))
    assert too_long.status_code == 400 and isinstance(too_long.parsed, m.Error)
    assert too_long.parsed.code == "invalid" and "text" in too_long.parsed.fields
    missing = _api("tweets.tweets_retrieve").sync_detailed("1", client=bob)
    assert missing.status_code == 404 and isinstance(missing.parsed, m.Error)
    assert missing.parsed.code == "not_found"
    conflict = _api("tweets.tweets_publish_create").sync_detailed(tweet.id, client=alice)
    assert conflict.status_code == 409 and isinstance(conflict.parsed, m.Error)
    assert conflict.parsed.code == "not_a_draft"

    settings.NEXUS_WRITE_RATE = "1/min"
    carol = _client(generated_client, live_server, _token(make_user("carol")))
    first = _api("tweets.tweets_create").sync_detailed(client=carol, body=m.TweetCreateInputRequest(text="one"))
    throttled = _api("tweets.tweets_create").sync_detailed(client=carol, body=m.TweetCreateInputRequest(text="two"))
    assert first.status_code == 201
    assert throttled.status_code == 429 and isinstance(throttled.parsed, m.Error)
    assert throttled.parsed.code == "throttled" and int(throttled.headers["Retry-After"]) >= 1
