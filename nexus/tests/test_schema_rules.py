"""The rules nexus.schema.NexusAutoSchema applies, checked on the served schema."""

from __future__ import annotations

import pytest

from engagement.models import METRICS
from tweets.serializers import MetricsOutput
from tweets.text import MAX_TEXT_LENGTH

pytestmark = pytest.mark.django_db

ERROR_REF = "#/components/schemas/Error"
WRITES = {"post", "put", "patch", "delete"}


@pytest.fixture
def schema(anon_client) -> dict:
    response = anon_client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_error_response_is_the_error_component(schema):
    for path, method, operation in _operations(schema):
        errors = {code: r for code, r in operation["responses"].items() if int(code) >= 400}
        assert {"401", "503"} <= set(errors), (method, path)
        for code, response in errors.items():
            assert response["content"] == {"application/json": {"schema": {"$ref": ERROR_REF}}}, (method, path, code)
            assert response["description"], (method, path, code)
        assert "Retry-After" in errors["503"]["headers"]


def test_writes_declare_403_and_429_with_retry_after(schema):
    for path, method, operation in _operations(schema):
        if method in WRITES:
            assert "403" in operation["responses"], (method, path)
            assert "Retry-After" in operation["responses"]["429"]["headers"], (method, path)


def test_operations_with_a_body_or_a_query_or_an_id_declare_400_413_415_404(schema):
    for path, method, operation in _operations(schema):
        codes = set(operation["responses"])
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= codes, (method, path)
        if any(p["in"] == "query" for p in operation.get("parameters", [])):
            assert "400" in codes, (method, path)
        if "{" in path:
            assert "404" in codes, (method, path)
    edit = schema["paths"]["/api/v1/tweets/{tweet_id}"]["patch"]["responses"]
    assert {"409", "412"} <= set(edit)


def test_bodies_are_json_only_and_the_upload_multipart_only(schema):
    for path, method, operation in _operations(schema):
        if "requestBody" not in operation:
            continue
        expected = ["multipart/form-data"] if path == "/api/v1/media" else ["application/json"]
        assert list(operation["requestBody"]["content"]) == expected, (method, path)


def test_text_is_declared_with_the_real_limit(schema):
    components = schema["components"]["schemas"]
    for name in ("TweetCreateInputRequest", "PatchedTweetEditInputRequest"):
        assert components[name]["properties"]["text"]["maxLength"] == MAX_TEXT_LENGTH


def test_no_internal_docstring_is_published(schema):
    for path, method, operation in _operations(schema):
        assert "description" not in operation, (method, path)
    for name, component in schema["components"]["schemas"].items():
        assert "description" not in component, name


def test_ids_are_strings_and_responses_declare_every_key(schema):
    def check(name, component):
        for prop, spec in component.get("properties", {}).items():
            if prop == "id" or prop.endswith("_id"):
                assert spec.get("type") == "string" or "$ref" in spec, (name, prop)
            if prop.endswith("_ids"):
                assert spec["items"]["type"] == "string", (name, prop)

    for name, component in schema["components"]["schemas"].items():
        if component.get("type") != "object":
            continue
        check(name, component)
        if not name.endswith("Request"):
            assert component["additionalProperties"] is False, name
    for _, _, operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["name"].endswith("_id"):
                assert parameter["schema"]["type"] == "string"


def test_the_metrics_object_declares_the_one_metric_list():
    assert list(MetricsOutput().fields) == list(METRICS)


def test_the_schema_is_valid_openapi_and_generates_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", validate=True, fail_on_warn=True, file=str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").stat().st_size > 0
