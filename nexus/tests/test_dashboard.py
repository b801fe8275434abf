"""The operator dashboard: staff only, numbers from the owning apps' functions,
charts as inline SVG, and a clear "not available" where a source is missing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from api import dashboard
from tweets.models import Tweet
from tweets.tests.factories import make_tweet


@pytest.fixture
def staff_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user("operator", is_staff=True))
    return client


def test_only_staff_see_the_dashboard(make_user, anon_client):
    response = Client().get("/ops/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    plain = Client()
    plain.force_login(make_user("nobody"))
    assert plain.get("/ops/").status_code == 302
    token_only = anon_client.get("/ops/")
    assert token_only.status_code == 302


def test_dashboard_shows_tiers_bytes_saving_queue_and_trending(staff_client, user, client_bob, settings):
    hot = [make_tweet(user, f"hot {i} #ops") for i in range(3)]
    cold = make_tweet(user, "old news")
    Tweet.objects.filter(pk=cold.pk).update(tier="cold", state="archived")
    assert client_bob.post(f"/api/v1/tweets/{hot[0].pk}/like").status_code == 200

    response = staff_client.get("/ops/")
    assert response.status_code == 200
    page = response.content.decode()
    summary = response.context["storage"].data
    assert summary["tweets"]["by_tier"] == {"hot": 3, "warm": 0, "cold": 1}
    # The numbers are the storage_report's, drawn as SVG bars with their values.
    assert page.count("<svg") >= 3
    tiers = _section(page, "tiers")
    assert re.search(r">hot</text>.*?>3</text>", tiers, re.S) and re.search(r">cold</text>.*?>1</text>", tiers, re.S)
    assert "Bytes per tier" in page and "all-hot baseline" in page
    queue = response.context["queue"].data
    assert queue["queued"] >= 3 and f"{queue['due']}</span> tier moves due now" in page
    trending = response.context["trending"]
    assert trending.ok and str(hot[0].pk) in _section(page, "trending")


def test_storage_figures_match_the_storage_report_function(staff_client, user):
    from lifecycle.storage import storage_summary  # what storage_report prints

    make_tweet(user, "measured")
    shown = staff_client.get("/ops/").context["storage"].data
    assert shown["tweets"] == storage_summary()["tweets"]


def test_queue_shows_the_oldest_due_item(staff_client, user):
    from lifecycle.models import LifecycleTask

    tweet = make_tweet(user, "due soon")
    LifecycleTask.objects.filter(tweet_id=tweet.pk).update(due_at=timezone.now() - timedelta(hours=2))
    response = staff_client.get("/ops/")
    queue = response.context["queue"].data
    assert queue["due"] >= 1 and queue["oldest_due_age_seconds"] >= 7200
    assert "overdue" in _section(response.content.decode(), "queue")


def test_a_failing_source_says_not_available_and_the_rest_renders(staff_client, monkeypatch):
    def broken(**kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr("api.selectors.trending_get", broken)
    response = staff_client.get("/ops/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "not available (ConnectionError: redis is down)" in _section(page, "trending")
    assert response.context["flush_lag"].ok and response.context["media_failures"].ok
    assert response.context["queue"].ok  # the other sections still render


def test_bar_chart_scales_to_the_largest_value():
    chart = dashboard.bar_chart([("a", 10), ("b", 5), ("c", 0), ("d", None)], unit="B")
    widths = [bar["width"] for bar in chart["bars"]]
    assert widths[0] == 2 * widths[1] and widths[2] == widths[3] == 0
    assert [bar["text"] for bar in chart["bars"]] == ["10 B", "5 B", "0 B", "n/a"]
    assert dashboard.human(3 * 1024 * 1024, "B") == "3.0 MiB"


def _section(page: str, section_id: str) -> str:
    match = re.search(rf'<section class="ops-card" id="{section_id}">(.*?)</section>', page, re.S)
    assert match, f"no section {section_id}"
    return match.group(1)


def test_the_admin_links_to_the_dashboard(staff_client):
    page = staff_client.get("/admin/").content.decode()
    assert 'href="/ops/"' in page and "Nexus moderation" in page
    assert 'id="ops-link"' in page  # in the header of every admin page
    assert 'id="operations"' in page  # and a module on the index


def test_a_staff_user_without_moderation_rights_is_told_what_the_account_is_for(staff_client):
    page = staff_client.get("/admin/").content.decode()
    assert "permission to view or edit anything" not in page
    assert 'id="no-moderation"' in page and "--moderator" in page


def test_a_moderator_sees_the_dashboard_link_and_the_tweets(moderator):
    client = Client()
    client.force_login(moderator)
    page = client.get("/admin/").content.decode()
    assert 'id="operations"' in page and "/admin/tweets/tweet/" in page
    assert 'id="no-moderation"' not in page


def test_the_dashboard_wears_the_admins_frame_with_human_labels_and_one_unit_system(staff_client, user):
    make_tweet(user, "for the figures")
    page = staff_client.get("/ops/").content.decode()
    # Header with the user and a logout button, as every admin page.
    assert 'id="user-tools"' in page and "operator" in page and 'id="logout-form"' in page
    assert "Nexus moderation" in page and "Django administration" not in page
    # Human labels, not dictionary keys or None.
    for raw in ("pending_tweets", "lag_seconds", "latest error", "failed originals", "None"):
        assert raw not in page, raw
    assert "Tweets whose counters wait for the flush" in page and "Uploads whose processing failed" in page
    # One unit system: IEC (KiB/MiB), never filesizeformat's KB/MB.
    assert re.search(r"\d (KiB|MiB|GiB)", page)
    assert not re.search(r"\d (KB|MB|GB)\b", page)
    assert "data-local-time" in page  # times in the reader's zone
