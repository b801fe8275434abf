"""A live Nexus (pytest-django's live_server: a real HTTP server in a thread,
on a free loopback port) and a person who signs in on its consent page."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
import requests
from django.conf import settings
from rest_framework.authtoken.models import Token


class _Forms(HTMLParser):
    """The inputs of every form on a page, and the text of an element by id."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, str]] = {}
        self._form: str | None = None
        self.texts: dict[str, str] = {}
        self._text_id: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = attrs.get("id", "")
            self.forms[self._form] = {}
        elif tag == "input" and self._form is not None and attrs.get("name") and attrs.get("type") != "submit":
            self.forms[self._form][attrs["name"]] = attrs.get("value") or ""
        elif attrs.get("id"):
            self._text_id = attrs["id"]

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None

    def handle_data(self, data):
        if self._text_id is not None and data.strip():
            self.texts[self._text_id] = data.strip()
            self._text_id = None


def parse_page(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    return parser


def consent(authorize_url: str, *, username: str, secret: str, allow: bool = True) -> str:
    """What a person does in the browser: open the app's authorize URL, sign in,
    press Authorize, read the code off the page (out-of-band redirect). Returns
    the code, or the page's text when it shows none."""
    browser = requests.Session()
    page = browser.get(authorize_url, timeout=30)
    assert page.status_code == 200, page.text[:500]
    sign_in = parse_page(page.text).forms["sign-in"]
    page = browser.post(page.url, data={**sign_in, "username": username, "password": secret}, timeout=30)
    assert page.status_code == 200, page.text[:500]
    form = parse_page(page.text).forms.get("authorizationForm")
    assert form is not None, page.text[:1000]
    if allow:
        form["allow"] = "Authorize"
    page = browser.post(page.url, data=form, timeout=30, allow_redirects=False)
    return parse_page(page.text).texts.get("code", page.text)


@pytest.fixture
def nexus_user(make_user):
    """A user as `create_user` makes them: no password, an API token."""
    user = make_user("carol")
    token = Token.objects.create(user=user)
    return user, token.key


@pytest.fixture
def base_url(live_server, monkeypatch) -> str:
    # Each request thread of the live server opens its own connection; with
    # no persistent connections they are closed when the request ends, so the
    # test database can be dropped after the run.
    # (monkeypatch: the nested dict is restored for the tests after this one).
    monkeypatch.setitem(settings.DATABASES["default"], "CONN_MAX_AGE", 0)
    return live_server.url


@pytest.fixture
def native(base_url, nexus_user):
    """The native API over HTTP, with the same user's Nexus token."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {nexus_user[1]}"

    def call(method: str, path: str, **kwargs) -> requests.Response:
        return session.request(method, base_url + path, timeout=30, **kwargs)

    return call
