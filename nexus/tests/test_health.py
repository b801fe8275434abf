import pytest


@pytest.mark.django_db
def test_healthz_answers_ok(anon_client):
    response = anon_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_every_dependency(anon_client):
    response = anon_client.get("/readyz")
    assert response.status_code == 200, response.content
    assert set(response.json()["checks"]) == {"database", "cache", "broker", "storage"}
    assert all(check["ok"] for check in response.json()["checks"].values())
