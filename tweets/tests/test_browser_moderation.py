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
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import Select, WebDriverWait

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
    # The filtered list is a new page: wait (bounded) for it before reading rows.
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("alice"))
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


def _screenshot(browser, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    if path.exists():
        path.unlink()
    assert browser.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    return path


def _inside_the_window(browser, element) -> bool:
    """The element is fully visible without scrolling sideways."""
    width = browser.execute_script("return document.documentElement.clientWidth")
    scroll = browser.execute_script("return document.documentElement.scrollWidth")
    right = element.location["x"] + element.size["width"]
    return element.is_displayed() and right <= width and scroll <= width


def test_moderator_walk_through_from_create_user_to_revert(browser, live_server, user, monkeypatch):
    """The README's "Moderating" section, step by step, in Chromium."""
    import io

    from django.core.management import call_command
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    from api.services import tweet_edit
    from tweets.models import Tweet

    # 1. The operator creates the moderator with a password (README: create_user --moderator --password).
    monkeypatch.setattr("sys.stdin", io.StringIO("Calm-and-fair-2026\n"))
    call_command("create_user", "mia", "--moderator", "--password-stdin", stdout=io.StringIO())
    spam = make_tweet(user, "CHEAP FOLLOWERS for sale, message me")
    make_tweet(user, "a quiet day by the sea")
    edited = make_tweet(user, "the harbour at dawn was lovely")
    tweet_edit(tweet_id=edited.pk, actor=user, text="the harbour at dawn was a scam, buy followers")
    base = live_server.url

    # 2. Log in with that password.
    _login(browser, base, "mia", "Calm-and-fair-2026")
    assert browser.find_element(By.ID, "ops-link").is_displayed()

    # 3. Find the tweet: Tweets, then search its words.
    browser.find_element(By.LINK_TEXT, "Tweets").click()
    search = browser.find_element(By.ID, "searchbar")
    search.send_keys("followers")
    search.submit()
    ids = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#result_list tbody th a")]
    assert str(spam.pk) in ids
    browser.find_element(By.LINK_TEXT, str(spam.pk)).click()

    # 4. Remove it with a reason, from its page.
    browser.find_element(By.LINK_TEXT, "remove with a reason").click()
    browser.find_element(By.NAME, "reason").send_keys("spam: selling followers")
    browser.find_element(By.NAME, "confirm").click()
    assert f"Tweet {spam.pk}: removed." in browser.find_element(By.CSS_SELECTOR, "ul.messagelist").text

    # 5. Its page says so at the top, with the reason and a restore link.
    banner = browser.find_element(By.ID, "tweet-banner")
    assert "Removed by a moderator" in banner.text and "spam: selling followers" in banner.text
    assert banner.find_element(By.LINK_TEXT, "Restore with a reason").is_displayed()
    _screenshot(browser, "moderation-removed.png")
    assert _status(f"{base}/api/v1/tweets/{spam.pk}") == 404

    # 6. The list labels it "Removed", visible at this window width, and the author link filters.
    browser.get(f"{base}/admin/tweets/tweet/")
    row = browser.find_element(By.LINK_TEXT, str(spam.pk)).find_element(By.XPATH, "./ancestor::tr")
    label = row.find_element(By.CSS_SELECTOR, ".tweet-status")
    assert label.text == "Removed" and _inside_the_window(browser, label)
    _screenshot(browser, "moderation-list.png")
    row.find_element(By.LINK_TEXT, "alice").click()
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("author=alice"))  # the click loads a page
    assert "/admin/auth/" not in browser.current_url

    # 7. Revert the vandalised tweet: versions page, pick version 1 in the list, give a reason.
    browser.get(f"{base}/admin/tweets/tweet/{edited.pk}/change/")
    browser.find_element(By.LINK_TEXT, "versions and diff").click()
    rows = browser.find_elements(By.CSS_SELECTOR, "#versions tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[3].text for r in rows] == ["alice", "alice"]  # names, not ids
    diff = browser.find_element(By.CSS_SELECTOR, "#diff .word-diff")
    assert {d.text for d in diff.find_elements(By.TAG_NAME, "del")} == {"lovely"}
    assert {i.text for i in diff.find_elements(By.TAG_NAME, "ins")} == {"a scam, buy followers"}
    assert _inside_the_window(browser, diff)
    browser.find_element(By.ID, "revert-to-1").click()
    browser.find_element(By.CSS_SELECTOR, "#revert-form textarea[name=reason]").send_keys("restore the author's words")
    _screenshot(browser, "moderation-versions.png")
    browser.find_element(By.CSS_SELECTOR, "#revert-form input[type=submit]").click()
    assert "Reverted to version 1: now version 3." in browser.find_element(By.CSS_SELECTOR, "ul.messagelist").text
    assert Tweet.objects.get(pk=edited.pk).version == 3
    with urllib.request.urlopen(f"{base}/api/v1/tweets/{edited.pk}", timeout=10) as response:
        import json

        assert json.load(response)["text"] == "the harbour at dawn was lovely"
