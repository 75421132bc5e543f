"""The bridge cycle as an rq job, run by a real rq worker on a real Redis."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, SimpleWorker

from casework.config import ConfigError
from casework.jobs import BRIDGE_QUEUE, enqueue_sync, sync_job
from tests.casework.conftest import services
from tests.intake.conftest import submit

from .conftest import Bridged
from .test_bridge import _counts


def write_casework_json(bridged: Bridged, **settings: object) -> Path:
    """Write the casework app's configuration into its instance folder, as the job reads
    it there (``settings`` added); return the folder."""
    config = services(bridged.linked.casework).config
    (config.instance_path / "casework.json").write_text(json.dumps({
        "database_url": config.database_url,
        "secret_key": base64.b64encode(config.secret_key).decode(),
        "escrow_public_key": (config.escrow_public_key or b"").hex(),
        "intake_sync_url": bridged.url,
        "intake_verify_key": bridged.intake_key.verify_key.raw.hex(),
        **settings,
    }))
    return config.instance_path


def test_an_rq_worker_runs_the_sync_cycle(bridged: Bridged, redis_url: str) -> None:
    instance = write_casework_json(bridged, redis_url=redis_url,
                                   argon2={"t": 1, "m": 8, "p": 1})
    submit(bridged.linked.intake.test_client(), category="ethics")
    job_id = enqueue_sync(redis_url, instance)
    connection = Redis.from_url(redis_url)
    queue = Queue(BRIDGE_QUEUE, connection=connection)
    assert queue.count == 1
    SimpleWorker([queue], connection=connection).work(burst=True)
    job = queue.fetch_job(job_id)
    assert job is not None and job.is_finished, job and job.exc_info
    assert job.return_value() == {"imported": 1, "acknowledged": 1, "pushed": 1}
    assert _counts(bridged) == (0, 2, 1)


def test_without_redis_the_cycle_runs_in_process(bridged: Bridged) -> None:
    instance = write_casework_json(bridged)
    submit(bridged.linked.intake.test_client(), category="ethics")
    assert "'imported': 1" in enqueue_sync(None, instance)


def test_a_job_without_an_instance_path_uses_the_apps_instance_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Not a folder relative to wherever the worker started: LYKTA_INSTANCE, as the apps.
    monkeypatch.setenv("LYKTA_INSTANCE", str(tmp_path / "elsewhere"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="elsewhere"):
        sync_job()
