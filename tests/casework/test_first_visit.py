"""A newcomer's first minutes: the sign-in form first, "signed out" only after a session."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from flask import Flask

from casework.models import Role

from .accounts_support import expire_sessions, signed_in
from .conftest import Staff, csrf, log_in


@pytest.fixture
def eva(enrol: Callable[..., Staff]) -> Staff:
    """A reviewer, enrolled."""
    return enrol("eva", Role.REVIEWER)


def test_a_first_visit_without_a_session_shows_the_sign_in_form(casework: Flask) -> None:
    response = casework.test_client().get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 401  # the start page itself is not shown
    assert 'action="/login"' in page and 'name="password"' in page
    assert "You are signed out" not in page


def test_an_ended_session_says_signed_out_and_links_to_sign_in(
    casework: Flask, eva: Staff
) -> None:
    client = signed_in(casework, eva)
    expire_sessions(casework)
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "You are signed out" in page
    assert '<a href="/login">Sign in</a>' in page
    assert "Back to the start page" not in page
    assert client.get("/login").status_code == 200  # where the link leads
    # Until the next sign-in, this browser keeps hearing why it is not shown the page.
    again = client.get("/cases/")
    assert again.status_code == 401 and "You are signed out" in again.get_data(as_text=True)


def test_after_signing_out_the_start_page_says_signed_out(
    casework: Flask, eva: Staff
) -> None:
    client = signed_in(casework, eva)
    client.post("/logout", data={"csrf_token": csrf(client, "/")})
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 401 and "You are signed out" in page
    assert '<a href="/login">Sign in</a>' in page
    log_in(casework, client, eva)  # and signing in again works from there
    assert client.get("/").status_code == 200


def test_every_link_on_the_sign_in_page_works(casework: Flask) -> None:
    client = casework.test_client()
    page = client.get("/login").get_data(as_text=True)
    links = set(re.findall(r'(?:href|action)="([^"]+)"', page))
    assert links, "no links found"
    for link in links:
        if link.startswith("#"):
            assert f'id="{link[1:]}"' in page, link  # the skip link's target is there
            continue
        target = urlsplit(link.replace("&amp;", "&"))
        assert not target.netloc, link  # nothing leaves the app
        response = client.get(target.path, query_string=target.query, follow_redirects=True)
        # "/" answers with the sign-in form (401); everything else simply works.
        expected = 401 if target.path == "/" else 200
        assert response.status_code == expected, link
        if target.path == "/":
            assert 'action="/login"' in response.get_data(as_text=True)
