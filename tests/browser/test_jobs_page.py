"""The failed-job page (/admin/jobs/) in a real browser, with a real failed job listed.

The accessibility sweep (test_casework_accessibility.py) serves casework without Redis,
where the page only says that jobs run in-process. Here casework is served with the
session's private Redis (the ``redis_url`` fixture), a real worker runs one job to failure
(tests/casework/test_jobs_failed.py: a sweep of an instance folder whose settings name a
secret), and an administrator's browser shows it: axe-core scans the page with the job
listed, in Swedish and English, and after a retry with its notice. The row shows the
function's and the exception's class names only, never the arguments, the message or a
traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page
from redis import Redis
from rq import Queue

from casework.jobs import MAINTENANCE_QUEUE
from casework.models import Role
from tests.casework.conftest import casework_config, make_casework  # noqa: F401 (fixtures)
from tests.casework.test_jobs_failed import SECRET, failing_job, registry
from tests.support.casework import enrol, services

from .casework_sites import scan, serving
from .test_intake_accessibility import render


@pytest.fixture
def jobs_redis(redis_url: str) -> Iterator[str]:
    """A database of the session's Redis of its own (the casework tests use 10)."""
    url = f"{redis_url}?db=11"
    Redis.from_url(url).flushdb()
    yield url
    Redis.from_url(url).flushdb()


def sign_in(page: Page, app: Flask, url: str) -> None:
    admin = enrol(app, "adam", Role.ADMINISTRATOR, "kof")
    page.goto(url + "/login")
    page.get_by_label("User name", exact=True).fill(admin.username)
    page.get_by_label("Password", exact=True).fill(admin.password)
    page.get_by_label("Code from your authenticator app", exact=True).fill(admin.code(app))
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign in", exact=True).click()
    assert answer.value.status == 302


def axe_clean(page: Page, url: str, axe_source: str, what: str) -> None:
    for lang in ("sv", "en"):
        page.context.add_cookies([{"name": "lang", "value": lang, "url": url}])
        answer = page.reload()
        assert answer is not None and answer.status == 200, what
        assert page.locator("html").get_attribute("lang") == lang
        result = scan(page, axe_source)
        assert not result["violations"], f"{what} ({lang}):\n{render(result['violations'])}"


def test_the_failed_job_page_with_a_job_listed_is_accessible_and_shows_classes_only(
        browser: Browser, axe_source: str, make_casework: Callable[..., Flask],  # noqa: F811
        jobs_redis: str) -> None:
    app = make_casework(redis_url=jobs_redis)
    job_id = failing_job(app, jobs_redis)
    assert job_id in registry(jobs_redis)
    context = browser.new_context(java_script_enabled=True, bypass_csp=True,
                                  viewport={"width": 1000, "height": 900})
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": "lang", "value": "en", "url": "http://127.0.0.1"}])
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    try:
        with serving(app, "casework-jobs") as url:
            page = context.new_page()
            sign_in(page, app, url)
            page.goto(url + "/admin/jobs/")
            row = page.locator(f"#job-{job_id}")
            assert row.locator("td").all_inner_texts()[1:4:2] == ["sweep_job", "ConfigError"]
            axe_clean(page, url, axe_source, "failed jobs, one listed")
            shown = page.content()
            instance = str(services(app).config.instance_path)
            for hidden in (SECRET, instance, "elsewhere", "Traceback", "unknown setting"):
                assert hidden not in shown, hidden

            # Retry from the page: the notice, the job gone from the list, back on its queue.
            with page.expect_response(lambda r: r.request.method == "POST") as answer:
                row.get_by_role("button", name=f"Retry {job_id}", exact=True).click()
            assert answer.value.status == 302
            page.wait_for_load_state()
            assert page.locator(f"#job-{job_id}").count() == 0
            queue = Queue(MAINTENANCE_QUEUE, connection=Redis.from_url(jobs_redis))
            assert queue.job_ids == [job_id]
            scanned = scan(page, axe_source)  # with the notice (a flash lasts one page)
            assert not scanned["violations"], render(scanned["violations"])
    finally:
        context.close()
    assert [r for r in requests if not r.startswith(url + "/")] == []
