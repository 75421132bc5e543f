"""What every benchmark shares: the machine, the code measured, the load, the numbers, the file.

Each benchmark measures its own thing; this module is how they all describe where and on
what they measured, and how they write it down:

- the machine: ``machine_lines`` (date, platform, CPU, cores, Python, then the bench's own
  rows, the load average and the code measured) and ``code_fingerprint`` (a hash over the
  files measured, no git needed);
- the load: ``LoadMeter`` (how much CPU *other* processes took during a section);
- the numbers: ``pct``, ``p50_p95``, ``fmt_ms``, ``fmt_signed_ms``, ``fmt_size``,
  ``md_table``;
- memory and ports: ``memory_kib``, ``reset_peak``, ``free_port``;
- the run: ``Run`` (the ``--results`` and ``--quick`` options every benchmark takes,
  progress lines with the elapsed time, a private work folder, sections that fail
  reported without stopping the others, and the one place a result file is written).

Results go to ``bench/results/`` unless ``--results DIR`` or ``LYKTA_BENCH_RESULTS`` names
another folder. A ``--quick`` run (tiny sizes, see ``bench.quick``) never writes into
``bench/results/``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import os
import platform
import resource
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from importlib import metadata
from pathlib import Path

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
MB = 1_000_000  # throughput is reported in MB/s (10^6 bytes per second)
REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results"
RESULTS_ENV = "LYKTA_BENCH_RESULTS"
HOST = "127.0.0.1"  # loopback only: no benchmark talks to another machine


# --------------------------------------------------------------------------- numbers


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def fmt_ms(seconds: float) -> str:
    ms = seconds * 1000
    if ms < 1:
        return f"{ms:.3f} ms"
    if ms < 100:
        return f"{ms:.2f} ms"
    return f"{ms:.0f} ms"


def fmt_signed_ms(seconds: float) -> str:
    return ("-" if seconds < 0 else "") + fmt_ms(abs(seconds))


def p50_p95(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{fmt_ms(pct(values, 50))} / {fmt_ms(pct(values, 95))}"


def fmt_size(n: int) -> str:
    if n >= GIB and n % GIB == 0:
        return f"{n // GIB} GiB"
    if n >= MIB and n % MIB == 0:
        return f"{n // MIB} MiB"
    if n >= KIB and n % KIB == 0:
        return f"{n // KIB} KiB"
    return f"{n} B"


def md_table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def failure_lines(what: str, exc: BaseException) -> list[str]:
    """A section that failed, with its traceback (call inside the ``except``)."""
    return [f"**{what} failed:** `{exc!r}`", "", "```", traceback.format_exc().strip(),
            "```", ""]


# --------------------------------------------------------------------------- the machine


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def loadavg() -> str:
    try:
        with open("/proc/loadavg", encoding="ascii") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return "unknown"


def version(package: str) -> str:
    """An installed distribution's version, or "not installed"."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def versions(*packages: str) -> str:
    return " / ".join(version(p) for p in packages)


def code_fingerprint(patterns: list[str], label: str) -> str:
    """Identify the code that was measured: a hash over the files matching ``patterns``
    (globs relative to the repository root), no git needed. ``label`` names them."""
    paths = sorted({p for pattern in patterns for p in REPO_ROOT.glob(pattern) if p.is_file()})
    digest = hashlib.sha256()
    newest = 0.0
    for path in paths:
        digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0"
                      + path.read_bytes() + b"\0")
        newest = max(newest, path.stat().st_mtime)
    when = dt.datetime.fromtimestamp(newest, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"sha256 {digest.hexdigest()[:16]} over {label} (newest file {when} UTC)"


def machine_lines(rows: list[list[str]], code: str) -> list[str]:
    """The ``## Machine`` table: what every bench records, ``rows`` (its own libraries and
    settings) in the middle, then the load average at the start and the code measured."""
    common = [
        ["Date (UTC)", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")],
        ["Platform", platform.platform()],
        ["CPU", cpu_model()],
        ["Cores", f"{os.cpu_count()} logical ({usable_cores()} usable by this process)"],
        ["Python", f"{platform.python_implementation()} {platform.python_version()}"],
    ]
    return ["## Machine", "", *md_table(["", ""], [
        *common, *rows, ["Load average at start (1/5/15 min)", loadavg()],
        ["Code measured", code]])]


# --------------------------------------------------------------------------- the load


def machine_busy() -> tuple[float, float] | None:
    """(busy, steal) CPU seconds of the whole machine since boot, from /proc/stat."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def own_cpu(children: bool = True) -> float:
    """CPU seconds of this process (and, if asked, of its reaped children)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    total = own.ru_utime + own.ru_stime
    if children:
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        total += kids.ru_utime + kids.ru_stime
    return total


class LoadMeter:
    """How much CPU *other* processes used during a section (/proc/stat minus our own).

    The bench shares the machine with whatever else runs; this makes that visible next
    to the numbers instead of silently skewing them.
    """

    def __init__(self) -> None:
        self.other_cores = 0.0
        self.steal = 0.0
        self.available = False

    def __enter__(self) -> LoadMeter:
        self._t0 = time.perf_counter()
        self._s0 = machine_busy()
        self._own0 = own_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._t0
        s1 = machine_busy()
        if self._s0 is None or s1 is None or wall <= 0:
            return
        own = own_cpu() - self._own0
        self.other_cores = max(0.0, (s1[0] - self._s0[0] - own) / wall)
        self.steal = (s1[1] - self._s0[1]) / wall
        self.available = True

    def line(self) -> str:
        if not self.available:
            return "_Background load: unknown (no /proc/stat)._"
        cores = os.cpu_count() or 1
        text = (f"_Background load during this section: other processes used "
                f"{self.other_cores:.2f} of {cores} cores (steal {self.steal:.2f})._")
        if self.other_cores > 0.25 or self.steal > 0.1:
            text += (" **The machine was not idle: absolute numbers, concurrency and the "
                     "median columns are affected; best-of-N is the better guide.**")
        return text


# --------------------------------------------------------------------------- memory, processes


class DiscardSink:
    """A writable that throws everything away (measures the producer, not the consumer)."""

    def write(self, data: bytes, /) -> int:
        return len(data)


def memory_kib(pid: int | str = "self") -> dict[str, int]:
    """VmHWM (peak RSS) and VmRSS in KiB, from /proc/<pid>/status (empty if unreadable)."""
    found: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                name = line.split(":", 1)[0]
                if name in ("VmHWM", "VmRSS"):
                    found[name] = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return found


def reset_peak(pid: int | str = "self") -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- the run


class Run:
    """One benchmark run: its options, its progress lines and its result file.

    ``Run.options(parser)`` adds ``--results DIR`` and ``--quick`` to a bench's parser;
    ``Run(name, args)`` then times the run, prints progress to stderr and writes
    ``<results>/<name>.md`` once, at the end.
    """

    def __init__(self, name: str, args: argparse.Namespace) -> None:
        self.name = name
        self.quick: bool = args.quick
        self.folder: Path | None = args.results
        self.started = time.perf_counter()

    @staticmethod
    def options(parser: argparse.ArgumentParser, quick: str) -> None:
        parser.add_argument(
            "--results", type=Path, default=os.environ.get(RESULTS_ENV) or None,
            help=f"folder for the result file (default: ${RESULTS_ENV} or bench/results)")
        parser.add_argument("--quick", action="store_true",
                            help=f"smoke run: {quick}; never written into bench/results")

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def progress(self, msg: str) -> None:
        print(f"[{self.elapsed():6.1f} s] {msg}", file=sys.stderr, flush=True)

    def heading(self, title: str) -> list[str]:
        """The title, and a warning on a quick run that its numbers mean nothing."""
        out = [f"# {title}", ""]
        if self.quick:
            out += ["**Quick smoke run (`--quick`): tiny sizes and cheap settings. It checks "
                    "that the benchmark runs; its numbers mean nothing.**", ""]
        return out

    def attempt(self, what: str, section: Callable[[], list[str]], heading: str = ""
                ) -> list[str]:
        """The lines ``section()`` returns or, if it raises, the failure (after ``heading``)
        with its traceback, so that the other sections still run and are written."""
        try:
            return section()
        except Exception as exc:  # report it, keep the other sections
            self.progress(f"   failed: {exc!r}")
            return [*([heading, ""] if heading else []), *failure_lines(what, exc)]

    @contextlib.contextmanager
    def workdir(self) -> Iterator[Path]:
        """A private temporary folder for the run, deleted afterwards."""
        with tempfile.TemporaryDirectory(prefix=f"lykta-bench-{self.name}-",
                                         ignore_cleanup_errors=True) as work:
            os.chmod(work, 0o700)
            yield Path(work)

    def write(self, lines: list[str], partial: bool = False) -> Path | None:
        """Print the report and write it (atomically) to the result file; return its path.

        A quick or ``partial`` run (some sections only) writes only into a folder named
        with ``--results`` or ``LYKTA_BENCH_RESULTS``, never into bench/results.
        """
        text = "\n".join([*lines, f"_Total bench time: {self.elapsed():.0f} s._"]) + "\n"
        print(text)
        folder = self.folder or RESULTS
        if (self.quick or partial) and folder.resolve() == RESULTS.resolve():
            self.progress("quick or partial run: no result file written (name another "
                          "folder with --results)")
            return None
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.name}.md"
        tmp = path.with_suffix(".md.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        self.progress(f"written to {path}")
        return path
