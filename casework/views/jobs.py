"""Failed background jobs, for administrators (casework.jobs.failures).

Thin: the list is read from Redis and rendered; a retry or a discard checks its form's
token, calls one domain function (which emits the audited event) and says what happened.
An id that is no job id, or no failed job's, is a 404 (casework.jobs.failures.UnknownJob).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from ..case_view import refusal
from ..forms import ActionForm
from ..jobs.failures import discard_job, failed_jobs, retry_job
from ..services import current, current_unit
from ..web import signed_in

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")


@bp.get("/")
def failed() -> str:
    """Each queue's failed jobs: id, function, when, the exception's class. Nothing more."""
    queues = failed_jobs(current().config.redis_url)
    return render_template("jobs_failed.html", queues=queues, action=ActionForm())


def _checked() -> None:
    if not ActionForm().validate_on_submit():
        raise refusal(_l("the form had no valid token; nothing was changed"))


@bp.post("/<job_id>/retry")
def retry(job_id: str) -> Response:
    """Put a failed job back on its queue."""
    _checked()
    queue = retry_job(current_unit().session, current().config.redis_url,
                      signed_in().user.id, job_id)
    flash(_("Job %(id)s is back on the queue %(queue)s.", id=job_id, queue=queue))
    return redirect(url_for("jobs.failed"))


@bp.post("/<job_id>/discard")
def discard(job_id: str) -> Response:
    """Delete a failed job for good."""
    _checked()
    queue = discard_job(current_unit().session, current().config.redis_url,
                        signed_in().user.id, job_id)
    flash(_("Job %(id)s of the queue %(queue)s was discarded.", id=job_id, queue=queue))
    return redirect(url_for("jobs.failed"))
