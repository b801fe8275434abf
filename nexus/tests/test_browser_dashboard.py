"""The operator dashboard in a real browser, reached the way the README says:
an operator made by `create_user --staff --password`, logged into the admin,
following its link. Its screenshot is the CI artifact var/screenshots/dashboard.png."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from tweets.tests.factories import make_tweet

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def _screenshot(browser, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    if path.exists():
        path.unlink()
    assert browser.save_screenshot(str(path))
    assert path.stat().st_size > 10_000


def test_staff_opens_the_dashboard_from_the_admin_and_it_reads_like_the_admin(browser, live_server, user, monkeypatch):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    monkeypatch.setattr("sys.stdin", io.StringIO("Watch-the-graphs-77\n"))
    call_command("create_user", "operator", "--staff", "--password-stdin", stdout=io.StringIO())
    for i in range(5):
        make_tweet(user, f"tweet {i} for the charts")

    browser.get(f"{live_server.url}/ops/")
    assert "/admin/login/" in browser.current_url  # not logged in: sent to the login page
    browser.find_element(By.NAME, "username").send_keys("operator")
    browser.find_element(By.NAME, "password").send_keys("Watch-the-graphs-77")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    # The login page's own URL ends with "?next=/ops/": wait (bounded) for the
    # dashboard itself, or the next navigation would cut the login short.
    WebDriverWait(browser, 10).until(expected_conditions.url_to_be(f"{live_server.url}/ops/"))

    # The admin index of a --staff user: the way to the dashboard, and why there is nothing else.
    browser.get(f"{live_server.url}/admin/")
    assert "permission to view or edit anything" not in browser.page_source
    assert "moderators group" in browser.find_element(By.ID, "no-moderation").text
    _screenshot(browser, "admin-index-staff.png")
    browser.find_element(By.CSS_SELECTOR, "#operations a").click()
    WebDriverWait(browser, 10).until(expected_conditions.url_to_be(f"{live_server.url}/ops/"))

    # The admin's frame: header, who is logged in, log out.
    assert browser.find_element(By.ID, "site-name").text == "Nexus moderation"
    tools = browser.find_element(By.ID, "user-tools")
    assert "OPERATOR" in tools.text.upper() and "LOG OUT" in tools.text.upper()
    assert browser.find_element(By.CSS_SELECTOR, "#logout-form button").is_displayed()
    assert browser.find_element(By.TAG_NAME, "h1").text == "Operator dashboard"

    tiers = browser.find_element(By.ID, "tiers")
    assert tiers.find_element(By.CLASS_NAME, "ops-big").text == "5"
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.chart rect")) >= 3
    # Human labels and one unit system.
    text = browser.find_element(By.ID, "content").text
    for raw in ("pending_tweets", "lag_seconds", "latest error None", "failed originals"):
        assert raw not in text, raw
    assert "Tweets whose counters wait for the flush" in text
    assert re.search(r"\d (KiB|MiB)", text) and not re.search(r"\d (KB|MB)\b", text)
    # Times shown in the reader's zone by the page's script: the server's
    # "2026-11-30 06:39 UTC" fallback was replaced by the browser's locale format.
    stamp = browser.find_element(By.CSS_SELECTOR, "time[data-local-time]")
    assert stamp.text and not re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", stamp.text), stamp.text
    # The admin stylesheet came from our own static files (no CDN): the page is styled.
    assert browser.find_element(By.ID, "header").value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"
    _screenshot(browser, "dashboard.png")

    tools.find_element(By.CSS_SELECTOR, "#logout-form button").click()
    # The logout page loads after the click returns: wait for it (bounded), then read it.
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/admin/logout/"))
    assert "Logged out" in browser.find_element(By.ID, "content").text
