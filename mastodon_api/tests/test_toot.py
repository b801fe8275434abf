"""toot (the Mastodon CLI), run as a subprocess against a live Nexus: it logs
in through the browser flow (the code pasted from the consent page), posts,
reads its own timeline, and deletes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mastodon_api.tests.conftest import consent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def toot(tmp_path):
    # Its config (apps, tokens) and anything else it keeps stay in the test's temp dir.
    env = {
        **os.environ,
        **{f"XDG_{kind}_HOME": str(tmp_path / kind.lower()) for kind in ("CONFIG", "CACHE", "DATA", "STATE")},
        "PYTHONUNBUFFERED": "1",
        "BROWSER": "true",  # `webbrowser` must not open anything (the test answers "n" anyway)
    }

    def run(*args: str, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "toot", *args],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            **kwargs,
        )

    def call(*args: str) -> str:
        process = run(*args)
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0, out
        return out

    run.call = call
    return run


def test_toot_logs_in_posts_reads_and_deletes(toot, base_url, nexus_user, native):
    user, api_token = nexus_user
    login = toot("login", "--instance", base_url)
    url = None
    lines = []
    while url is None:
        line = login.stdout.readline()
        assert line, "toot ended before printing the login URL:\n" + "".join(lines)
        lines.append(line)
        if line.startswith(base_url):
            url = line.strip()
    code = consent(url, username=user.username, secret=api_token)
    out, _ = login.communicate(input=f"n\n{code}\n", timeout=120)
    assert login.returncode == 0, "".join(lines) + out
    assert "Successfully logged in" in out

    posted = json.loads(toot.call("post", "--json", "tooted from toot #nexus"))
    tweet = native("GET", f"/api/v1/tweets/{posted['id']}").json()
    assert tweet["text"] == "tooted from toot #nexus" and tweet["author"]["username"] == user.username

    home = toot.call("timeline", "--once")
    assert "tooted from toot" in home and posted["id"] in home
    mine = toot.call("timeline", "--account", user.username, "--once")
    assert "tooted from toot" in mine

    assert "Status deleted" in toot.call("delete", posted["id"])
    assert native("GET", f"/api/v1/tweets/{posted['id']}").status_code == 404
    assert "tooted from toot" not in toot.call("timeline", "--once")
