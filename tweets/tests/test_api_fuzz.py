"""Property test: no generated request to a tweet endpoint answers 5xx.

Schemathesis derives requests from our own OpenAPI schema; examples are
bounded so the suite stays fast."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tweets.tests.factories import make_tweet

schema = schemathesis.openapi.from_wsgi("/api/schema", get_wsgi_application()).include(
    path_regex=r"^/api/v1/(tweets|drafts|users|search)"
)


@pytest.fixture
def auth_headers(make_user, make_client):
    author = make_user("fuzzer")
    make_tweet(author, "something to find #fuzz")
    token = make_client(author)._credentials["HTTP_AUTHORIZATION"]
    return {"Authorization": token}


@pytest.mark.django_db
@pytest.mark.usefixtures("wsgi_keeps_the_test_connection")
@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_tweet_endpoints_never_answer_5xx(case, auth_headers):
    case.call_and_validate(headers=auth_headers, checks=[not_a_server_error])
