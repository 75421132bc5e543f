"""The scheduler: every periodic job queued once per slot, by one leader at a time.

Time is cut into slots per kind (the bridge: ``bridge_interval_seconds``; reminders and
the session sweep: an hour; the purge: a day), counted from the Unix epoch, so every
machine agrees on which slot it is. A tick queues each kind whose current slot it has not
queued yet.

With Redis, any number of schedulers may run (one per machine, for availability):

* **Leader lock.** A tick first takes or renews ``lykta:jobs:scheduler`` (``SET NX PX``
  with a random token; renewed, and released, only by a script that checks the token).
  A scheduler that is not the leader queues nothing. A leader that dies stops renewing;
  after :data:`LEASE_SECONDS` another takes over.
* **One job per slot.** Even so, a leader that paused (a stopped VM, a long GC) past its
  lease could tick once more beside the new one. So each slot is claimed too, with
  ``SET NX`` on a key named after the slot, and queued under a job id derived from it
  (32 hex characters): a slot is queued once however many schedulers tick.

Without Redis there is one scheduler by definition: it runs each job in its own process
when the slot comes (the embedded default, as ``bridge schedule`` always did).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import CaseworkConfig
from .queues import BRIDGE, PURGE, REMINDERS, SWEEP, Kind, connect, enqueue

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger("lykta.casework.jobs")

LEADER_KEY = "lykta:jobs:scheduler"
SLOT_KEY = "lykta:jobs:slot:"
# How long a leader's claim lasts without renewal; it renews at every tick.
LEASE_SECONDS = 30
# The longest a tick waits for the next one (a shorter bridge interval ticks faster).
TICK_SECONDS = 5

# Compare-and-act on the leader key: only the holder of the token renews or releases it.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class Periodic:
    """A kind of job and the seconds between its runs."""

    kind: Kind
    every: int


def plan(config: CaseworkConfig) -> tuple[Periodic, ...]:
    """What the scheduler queues, and how often."""
    return (Periodic(BRIDGE, config.bridge_interval_seconds), Periodic(REMINDERS, 3600),
            Periodic(SWEEP, 3600), Periodic(PURGE, 86_400))


def slot_job_id(kind: Kind, slot: int) -> str:
    """The one job id of ``kind``'s ``slot`` (32 hex characters, like the page expects)."""
    return hashlib.sha256(f"lykta:{kind.name}:{slot}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Queued:
    """One slot this tick queued (with Redis: the job id; without: the job's result)."""

    kind: str
    slot: int
    outcome: str


class Scheduler:
    """Ticks: take the lead, queue each kind's slot once."""

    def __init__(self, config: CaseworkConfig, *, instance_path: Path | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.instance_path = instance_path or config.instance_path
        self.clock = clock
        self.plan = plan(config)
        self.token = secrets.token_hex(16)
        self.redis: Redis | None = connect(config.redis_url) if config.redis_url else None
        self.done: dict[str, int] = {}  # the last slot this scheduler queued, per kind

    # --- the leader lock -----------------------------------------------------------

    def lead(self) -> bool:
        """Renew our claim, or take a free one: True if this scheduler is the leader."""
        if self.redis is None:
            return True
        lease = str(LEASE_SECONDS * 1000)
        if self.redis.eval(_RENEW, 1, LEADER_KEY, self.token, lease):
            return True
        return bool(self.redis.set(LEADER_KEY, self.token, nx=True, px=LEASE_SECONDS * 1000))

    def release(self) -> None:
        """Give up the lead (at a clean stop), so that another takes it at once."""
        if self.redis is not None:
            self.redis.eval(_RELEASE, 1, LEADER_KEY, self.token)

    # --- slots -----------------------------------------------------------------------

    def _claim(self, periodic: Periodic, slot: int) -> bool:
        """Claim ``slot`` across all schedulers (kept two periods, then it expires)."""
        if self.redis is None:
            return True
        key = SLOT_KEY + slot_job_id(periodic.kind, slot)
        return bool(self.redis.set(key, self.token, nx=True, ex=2 * periodic.every))

    def tick(self) -> list[Queued]:
        """Queue (or, without Redis, run) every kind whose slot has come; what it did."""
        if not self.lead():
            return []
        now = self.clock()
        queued: list[Queued] = []
        for periodic in self.plan:
            kind = periodic.kind
            slot = int(now // periodic.every)
            if self.done.get(kind.name) == slot:
                continue
            self.done[kind.name] = slot
            if not self._claim(periodic, slot):
                continue  # another scheduler queued this slot
            # Claimed: if queuing fails now, this slot is lost and the next one does the
            # work (every job catches up on everything due, not just its slot's share).
            try:
                # The job may wait one period in its queue: after that, the next slot's
                # job does the same work (no backlog piles up while workers are down).
                outcome = enqueue(self.config.redis_url, kind, self.instance_path,
                                  job_id=slot_job_id(kind, slot), ttl=periodic.every)
            except Exception as exc:  # keep scheduling; say what failed (type only)
                log.warning("%s not queued: %s", kind.name, type(exc).__name__)
                outcome = f"failed: {type(exc).__name__}"
            queued.append(Queued(kind.name, slot, outcome))
        return queued

    def pause(self) -> float:
        """Seconds until the next tick is due."""
        every = min(TICK_SECONDS, *(p.every for p in self.plan))
        return every - self.clock() % every

    def run(self, *, once: bool = False, report: Callable[[Queued], None] = lambda q: None,
            sleep: Callable[[float], None] = time.sleep) -> None:
        """Tick until stopped (or once); the lead is released when it ends."""
        from redis.exceptions import RedisError

        try:
            while True:
                try:
                    for done in self.tick():
                        report(done)
                except RedisError as exc:
                    # Redis away: no lead, nothing queued; try again at the next tick.
                    log.warning("scheduler tick failed: %s", type(exc).__name__)
                if once:
                    return
                sleep(self.pause())
        finally:
            with contextlib.suppress(RedisError):
                self.release()
