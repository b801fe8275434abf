"""A moderator in a real browser: log in, filter tweets, remove one with a
reason, and see through the HTTP API that it is gone."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tweets.models import ModerationAction
from tweets.tests.factories import make_tweet

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _login(browser, base: str, username: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{base}/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    assert browser.find_element(By.ID, "user-tools").text.upper().startswith("WELCOME")


def test_moderator_filters_and_removes_a_tweet_with_a_reason(browser, live_server, moderator, user, other_user):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    moderator.set_password("mod-pass-123")
    moderator.save()
    spam = make_tweet(user, "BUY CHEAP FOLLOWERS now")
    fine = make_tweet(user, "a quiet day by the sea")
    bobs = make_tweet(other_user, "bob was here")
    base = live_server.url
    assert _status(f"{base}/api/v1/tweets/{spam.pk}") == 200

    _login(browser, base, "mod", "mod-pass-123")
    browser.get(f"{base}/admin/tweets/tweet/")
    author_box = browser.find_element(By.ID, "filter-author")
    author_box.send_keys("alice")
    author_box.submit()
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    listed = {row.find_element(By.NAME, "_selected_action").get_attribute("value") for row in rows}
    assert listed == {str(spam.pk), str(fine.pk)}  # bob's tweet is filtered out
    assert str(bobs.pk) not in listed

    browser.find_element(By.CSS_SELECTOR, f"input[name=_selected_action][value='{spam.pk}']").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("remove_tweets")
    browser.find_element(By.NAME, "index").click()
    # The reason page: submitting it empty is refused by the browser (required) and the form.
    reason = browser.find_element(By.NAME, "reason")
    reason.send_keys("spam: selling followers")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "moderation-remove.png"))
    browser.find_element(By.NAME, "confirm").click()

    assert "1 of 1 tweet(s) removed" in browser.find_element(By.CSS_SELECTOR, "ul.messagelist").text
    assert _status(f"{base}/api/v1/tweets/{spam.pk}") == 404
    assert _status(f"{base}/api/v1/tweets/{fine.pk}") == 200
    action = ModerationAction.objects.get(tweet_id=spam.pk)
    assert (action.kind, action.moderator_id, action.reason) == ("removed", moderator.pk, "spam: selling followers")
