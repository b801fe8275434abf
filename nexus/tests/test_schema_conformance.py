"""Schemathesis: every operation of /api/schema, every response checked against
the schema (status code declared, content type, headers, body shape), not only
"no 5xx". Response objects forbid undeclared keys (nexus.schema), so a renderer
that drifts from its serializer fails here.

Requests are generated from the schema itself; a share of them is pointed at
real rows (published tweets in each tier, one with media and likes, their
author, their hashtag) so the 200 bodies are checked too, not only the 404s,
including the warm and cold ones hydrated from the archive. Bounded: a fixed number of
examples per operation, derandomized."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from engagement.services import like_set
from lifecycle.services import lifecycle_run_due
from lifecycle.tests.test_lifecycle import _age as age
from media.services import media_upload
from media.tests.conftest import media_root  # noqa: F401 - fixture
from media.tests.factories import jpeg_bytes
from tweets.tests.factories import make_tweet

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 25

schema = schemathesis.openapi.from_wsgi("/api/schema", get_wsgi_application())


@pytest.fixture
def world(make_user, make_client, media_root, django_capture_on_commit_callbacks):  # noqa: F811 - fixture
    """Real rows for generated requests to hit: a published tweet with a
    processed image and a like, a reply, a draft."""
    author = make_user("fuzzer")
    fan = make_user("fan")
    with django_capture_on_commit_callbacks(execute=True):
        media = media_upload(owner=author, file=SimpleUploadedFile("p.jpg", jpeg_bytes(64, 48)), alt_text="a cat")
    tweet = make_tweet(author, "something to find #fuzz", media_ids=[media.id])
    make_tweet(author, "a reply #fuzz", in_reply_to_id=tweet.id)
    make_tweet(author, "a draft", draft=True)
    like_set(user=fan, tweet_id=tweet.id, liked=True)
    warm, cold = make_tweet(author, "gone warm #fuzz"), make_tweet(author, "gone cold #fuzz")
    age(warm.id, days=10)
    age(cold.id, days=100)
    lifecycle_run_due()
    token = make_client(author)._credentials["HTTP_AUTHORIZATION"]
    return {
        "headers": {"Authorization": token},
        "path": {
            "tweet_id": [str(tweet.id), str(warm.id), str(cold.id)],
            "media_id": [str(media.id)],
            "username": ["fuzzer"],
            "tag": ["fuzz"],
        },
    }


def _aim_at_real_rows(case, world) -> None:
    """Half of the generated path parameters (chosen by the generated value,
    so the run stays deterministic) are replaced by ids of real rows."""
    for name, value in list((case.path_parameters or {}).items()):
        real = world["path"].get(name)
        if real and len(str(value)) % 2 == 0:
            case.path_parameters[name] = real[len(str(value)) // 2 % len(real)]


@pytest.mark.django_db
@pytest.mark.usefixtures("wsgi_keeps_the_test_connection")
@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_response_conforms_to_the_schema(case, world):
    _aim_at_real_rows(case, world)
    case.call_and_validate(headers=world["headers"], checks=CHECKS)
