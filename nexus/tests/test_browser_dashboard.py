"""The operator dashboard in a real browser; its screenshot is the CI artifact
var/screenshots/dashboard.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from tweets.tests.factories import make_tweet

pytestmark = pytest.mark.browser
SCREENSHOT = Path(settings.BASE_DIR) / "var" / "screenshots" / "dashboard.png"


def test_staff_opens_the_dashboard_and_it_is_screenshotted(browser, live_server, make_user, user):
    from selenium.webdriver.common.by import By

    operator = make_user("operator", is_staff=True)
    operator.set_password("op-pass-123")
    operator.save()
    for i in range(5):
        make_tweet(user, f"tweet {i} for the charts")

    browser.get(f"{live_server.url}/ops/")
    assert "/admin/login/" in browser.current_url  # not logged in: sent to the login page
    browser.find_element(By.NAME, "username").send_keys("operator")
    browser.find_element(By.NAME, "password").send_keys("op-pass-123")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()

    assert browser.current_url.endswith("/ops/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Operator dashboard"
    tiers = browser.find_element(By.ID, "tiers")
    assert tiers.find_element(By.CLASS_NAME, "ops-big").text == "5"
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.chart rect")) >= 3
    # The admin stylesheet came from our own static files (no CDN): the page is styled.
    assert browser.find_element(By.ID, "header").value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    if SCREENSHOT.exists():
        SCREENSHOT.unlink()
    assert browser.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
