"""Benchmarks for crypto/: envelope throughput, seal latency vs gpg, receipt derivation cost.

Run from the repository root::

    .venv/bin/python -m bench.crypto_bench

Results are printed and written (overwritten) to ``bench/results/crypto.md``. Nothing here
asserts a time limit: the numbers are for people to read. See bench/README.md.

The raw libsodium baselines import ``nacl`` directly; that is allowed for the bench only
(application code must go through ``crypto``).
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import nacl.bindings as sodium

import crypto

KIB = 1024
MIB = 1024 * 1024
MB = 1_000_000  # throughput is reported in MB/s (10^6 bytes of plaintext per second)
CHUNK = crypto.DEFAULT_CHUNK_SIZE
RESULTS = Path(__file__).resolve().parent / "results" / "crypto.md"
REPO_ROOT = Path(__file__).resolve().parent.parent

_SS_STATE = sodium.crypto_secretstream_xchacha20poly1305_state
_SS_INIT_PUSH = sodium.crypto_secretstream_xchacha20poly1305_init_push
_SS_PUSH = sodium.crypto_secretstream_xchacha20poly1305_push
_SS_INIT_PULL = sodium.crypto_secretstream_xchacha20poly1305_init_pull
_SS_PULL = sodium.crypto_secretstream_xchacha20poly1305_pull
_SS_ABYTES = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
_TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL

GPG_UID = "bench <bench@example.invalid>"
GPG_EMAIL = "bench@example.invalid"


# --------------------------------------------------------------------------- helpers


class DiscardSink:
    """A writable that throws everything away (measures the producer, not the consumer)."""

    def write(self, data: bytes, /) -> int:
        return len(data)


def timed(fn: Callable[[], object]) -> float:
    """Wall-clock seconds for one call of ``fn``."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def per_call(fn: Callable[[], object], batch: int) -> float:
    """Seconds per call, measured over ``batch`` back-to-back calls."""
    start = time.perf_counter()
    for _ in range(batch):
        fn()
    return (time.perf_counter() - start) / batch


def interleaved(fns: dict[str, Callable[[], object]], reps: int, batch: int = 1,
                warmup: bool = True) -> dict[str, list[float]]:
    """Time every function ``reps`` times, alternating them to share any machine drift."""
    if warmup:
        for fn in fns.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            samples[name].append(per_call(fn, batch))
    return samples


def fmt_size(n: int) -> str:
    if n >= MIB and n % MIB == 0:
        return f"{n // MIB} MiB"
    if n >= KIB and n % KIB == 0:
        return f"{n // KIB} KiB"
    return f"{n} B"


def fmt_ms(seconds: float) -> str:
    ms = seconds * 1000
    if ms < 1:
        return f"{ms:.3f} ms"
    if ms < 100:
        return f"{ms:.2f} ms"
    return f"{ms:.0f} ms"


def md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


# --------------------------------------------------------------------------- machine


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_lines() -> list[str]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 0
    gpg = shutil.which("gpg")
    gpg_version = "not installed"
    if gpg:
        out = subprocess.run([gpg, "--version"], capture_output=True, text=True, check=False)
        gpg_version = out.stdout.splitlines()[0] if out.stdout else "unknown"
    rows = [
        ["Date (UTC)", datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")],
        ["Platform", platform.platform()],
        ["CPU", cpu_model()],
        ["Cores", f"{os.cpu_count()} logical ({usable} usable by this process)"],
        ["Python", f"{platform.python_implementation()} {platform.python_version()}"],
        ["PyNaCl", f"{metadata.version('PyNaCl')} (bundled libsodium; PyNaCl does not "
                   "expose its version string)"],
        ["argon2-cffi", f"{metadata.version('argon2-cffi')} "
                        f"(bindings {metadata.version('argon2-cffi-bindings')})"],
        ["cryptography", metadata.version("cryptography")],
        ["gpg", gpg_version],
    ]
    return ["## Machine", "", *md_table(["", ""], rows)]


# --------------------------------------------------------------------------- 1. throughput


def raw_push(data: bytes, key: bytes, out: list[bytes] | None = None) -> bytes:
    """Raw secretstream over ``data`` in CHUNK pieces, last one FINAL; returns the header."""
    state = _SS_STATE()
    header = _SS_INIT_PUSH(state, key)
    size = len(data)
    for offset in range(0, size, CHUNK):
        end = offset + CHUNK
        sealed = _SS_PUSH(state, data[offset:end], None,
                          _TAG_FINAL if end >= size else _TAG_MESSAGE)
        if out is not None:
            out.append(sealed)
    return header


def raw_pull(header: bytes, ciphertext: bytes, key: bytes) -> None:
    """Raw secretstream pull over a contiguous run of CHUNK+ABYTES ciphertexts."""
    state = _SS_STATE()
    _SS_INIT_PULL(state, header, key)
    step = CHUNK + _SS_ABYTES
    tag = _TAG_MESSAGE
    for offset in range(0, len(ciphertext), step):
        _, tag = _SS_PULL(state, ciphertext[offset : offset + step], None)
    if tag != _TAG_FINAL:
        raise RuntimeError("raw stream did not end with TAG_FINAL")


@dataclass
class ThroughputRow:
    op: str
    size: int
    envelope: list[float]  # seconds per call
    raw: list[float]
    body_size: int = 0

    def mbps(self, samples: list[float], pick: Callable[[list[float]], float]) -> float:
        return self.size / pick(samples) / MB

    @property
    def ratio(self) -> float:
        # Ratio of throughputs = raw time / envelope time (medians).
        return statistics.median(self.raw) / statistics.median(self.envelope)


def bench_throughput(sizes: list[tuple[int, int, int]]) -> tuple[list[ThroughputRow], dict]:
    """sizes: (plaintext bytes, repetitions, calls per repetition)."""
    recipient = crypto.PrivateKey.generate()
    recipients = [recipient.public_key]
    raw_key = os.urandom(32)
    rows: list[ThroughputRow] = []
    notes: dict = {}
    for size, reps, batch in sizes:
        data = os.urandom(size)  # one buffer per size, reused by every repetition
        sink = DiscardSink()

        def env_seal(data: bytes = data, sink: DiscardSink = sink) -> object:
            return crypto.seal_stream(io.BytesIO(data), sink, recipients)

        def raw_seal(data: bytes = data) -> object:
            return raw_push(data, raw_key)

        seal = interleaved({"envelope": env_seal, "raw": raw_seal}, reps, batch)

        # Ciphertexts for the decryption runs (made once, outside the timing).
        body_out = io.BytesIO()
        sealed = crypto.seal_stream(io.BytesIO(data), body_out, recipients)
        body = body_out.getvalue()
        del body_out
        chunks: list[bytes] = []
        raw_header = raw_push(data, raw_key, chunks)
        raw_ct = b"".join(chunks)
        del chunks

        # Correctness check once, untimed: the envelope opens to the same plaintext size.
        opened = crypto.open_stream(sealed.header, io.BytesIO(body), sink, recipient)
        if opened.plaintext_size != size:
            raise RuntimeError("envelope round trip lost data")
        if size <= MIB:
            check = io.BytesIO()
            crypto.open_stream(sealed.header, io.BytesIO(body), check, recipient)
            if check.getvalue() != data:
                raise RuntimeError("envelope round trip changed the data")

        def env_open(body: bytes = body, header: bytes = sealed.header,
                     sink: DiscardSink = sink) -> object:
            return crypto.open_stream(header, io.BytesIO(body), sink, recipient)

        def raw_open(raw_ct: bytes = raw_ct, raw_header: bytes = raw_header) -> None:
            raw_pull(raw_header, raw_ct, raw_key)

        opn = interleaved({"envelope": env_open, "raw": raw_open}, reps, batch)
        rows.append(ThroughputRow("seal (encrypt)", size, seal["envelope"], seal["raw"],
                                  sealed.body_size))
        rows.append(ThroughputRow("open (decrypt)", size, opn["envelope"], opn["raw"],
                                  sealed.body_size))
        notes[size] = {"reps": reps, "batch": batch}
        del data, body, raw_ct
    return rows, notes


def throughput_lines(rows: list[ThroughputRow], notes: dict) -> list[str]:
    table = []
    for row in rows:
        env_med = row.mbps(row.envelope, statistics.median)
        env_best = row.mbps(row.envelope, min)
        raw_med = row.mbps(row.raw, statistics.median)
        raw_best = row.mbps(row.raw, min)
        ratio = row.ratio
        verdict = "ok" if ratio >= 0.9 else "**below 0.9**"
        table.append([
            row.op, fmt_size(row.size),
            f"{env_med:,.0f} ({env_best:,.0f})", f"{raw_med:,.0f} ({raw_best:,.0f})",
            f"{ratio:.3f} {verdict}",
            f"{row.body_size / row.size:.4f}",
        ])
    reps = ", ".join(f"{fmt_size(s)}: N={n['reps']} x {n['batch']} call(s)"
                     for s, n in notes.items())
    return [
        "## 1. Envelope throughput vs raw libsodium secretstream",
        "",
        f"64 KiB chunks, in-memory source (io.BytesIO over one pre-generated random buffer),"
        f" output discarded. MB/s = 10^6 plaintext bytes per second; median of N (best in"
        f" parentheses). Ratio = envelope/raw throughput, medians; target >= 0.9. ({reps})",
        "",
        *md_table(["Operation", "Size", "Envelope MB/s", "Raw secretstream MB/s",
                   "Ratio env/raw", "Body bytes / plaintext"], table),
        "",
        "The envelope also seals the content key to the recipient (X25519 crypto_box_seal) "
        "and pads with Padme, so it encrypts more bytes than the raw stream "
        "(last column); both are part of the measured cost.",
    ]


# --------------------------------------------------------------------------- 2. vs gpg


def _gpg_env(home: str) -> dict[str, str]:
    return {**os.environ, "GNUPGHOME": home, "LC_ALL": "C"}


def _gpg_enc_subkey(gpg: str, home: str) -> str | None:
    """Describe the key's encryption subkey, or None if it has none."""
    out = subprocess.run([gpg, "--batch", "--with-colons", "--list-keys", GPG_EMAIL],
                         capture_output=True, text=True, env=_gpg_env(home), check=False)
    algos = {"1": "rsa", "16": "elg", "18": "ecdh", "17": "dsa", "19": "ecdsa", "22": "eddsa"}
    for line in out.stdout.splitlines():
        fields = line.split(":")
        if fields[0] in ("pub", "sub") and len(fields) > 11 and "e" in fields[11]:
            algo = algos.get(fields[3], f"algo{fields[3]}")
            curve = fields[16] if len(fields) > 16 and fields[16] else ""
            return f"{algo}{fields[2]}" + (f" ({curve})" if curve else "")
    return None


def _gpg_generate_key(gpg: str, home: str) -> tuple[str, float]:
    """Generate the bench key, trying faster algorithms if the default fails or hangs."""
    attempts: list[tuple[str, list[list[str]]]] = [
        ("default", [["--quick-gen-key", GPG_UID, "default", "default", "never"]]),
        ("futuredefault", [["--quick-gen-key", GPG_UID, "futuredefault", "default", "never"]]),
        ("ed25519 + cv25519", [["--quick-gen-key", GPG_UID, "ed25519", "sign", "never"]]),
    ]
    errors = []
    for label, commands in attempts:
        start = time.perf_counter()
        try:
            for args in commands:
                subprocess.run([gpg, "--batch", "--passphrase", "", *args], env=_gpg_env(home),
                               capture_output=True, check=True, timeout=60)
            if label.startswith("ed25519"):
                fpr = subprocess.run(
                    [gpg, "--batch", "--with-colons", "--list-keys", GPG_EMAIL],
                    capture_output=True, text=True, env=_gpg_env(home), check=True,
                ).stdout.split("fpr:::::::::", 1)[1].split(":", 1)[0]
                subprocess.run([gpg, "--batch", "--passphrase", "", "--quick-add-key", fpr,
                                "cv25519", "encr", "never"], env=_gpg_env(home),
                               capture_output=True, check=True, timeout=60)
        except (subprocess.SubprocessError, IndexError) as exc:
            errors.append(f"{label}: {exc}")
            continue
        subkey = _gpg_enc_subkey(gpg, home)
        if subkey:
            return f"{label} -> encryption key {subkey}", time.perf_counter() - start
        errors.append(f"{label}: no encryption subkey")
    raise RuntimeError("could not generate a gpg key: " + "; ".join(errors))


def bench_vs_gpg(sizes: list[int], gpg_reps: int) -> list[str]:
    recipient = crypto.PrivateKey.generate()
    recipients = [recipient.public_key]
    ours: dict[int, list[float]] = {}
    for size in sizes:
        data = os.urandom(size)
        batch = 50 if size <= 64 * KIB else 5
        samples = interleaved({"seal": lambda data=data: crypto.seal_bytes(data, recipients)},
                              reps=7, batch=batch)
        ours[size] = samples["seal"]

    lines = [
        "## 2. Sealing one report to one recipient: crypto.seal_bytes vs gpg --encrypt",
        "",
        "Random plaintext. Ours: in-process `crypto.seal_bytes`, median of 7 x (50 calls for "
        "5 KiB, 5 calls for 1 MiB). gpg: `gpg --batch --yes --trust-model always -r ... "
        f"--encrypt` on a file in a temporary GNUPGHOME, median of N={gpg_reps} runs, which "
        "includes process start-up; `gpg --version` is timed as the start-up baseline.",
        "",
    ]
    gpg = shutil.which("gpg")
    if not gpg:
        print("gpg is not installed (not on PATH): skipping the gpg comparison.", flush=True)
        lines.append("**gpg is not installed (not on PATH): comparison skipped.**")
        lines.append("")
        lines.extend(md_table(["Size", "seal_bytes (median)"],
                              [[fmt_size(s), fmt_ms(statistics.median(v))]
                               for s, v in ours.items()]))
        return lines

    home = tempfile.mkdtemp(prefix="lykta-bench-gnupg-")
    try:
        os.chmod(home, 0o700)
        key_desc, keygen_s = _gpg_generate_key(gpg, home)
        env = _gpg_env(home)
        startup = []
        for _ in range(gpg_reps + 1):
            startup.append(timed(lambda: subprocess.run(
                [gpg, "--version"], env=env, capture_output=True, check=True)))
        startup_med = statistics.median(startup[1:])
        rows = []
        for size in sizes:
            src = Path(home) / f"report-{size}.bin"
            dst = Path(home) / f"report-{size}.bin.gpg"
            src.write_bytes(os.urandom(size))
            cmd = [gpg, "--batch", "--yes", "--trust-model", "always", "-r", GPG_EMAIL,
                   "--output", str(dst), "--encrypt", str(src)]
            times = [timed(lambda cmd=cmd: subprocess.run(
                cmd, env=env, capture_output=True, check=True)) for _ in range(gpg_reps + 1)]
            gpg_med = statistics.median(times[1:])  # first run (trustdb etc.) is warm-up
            our_med = statistics.median(ours[size])
            net = max(gpg_med - startup_med, 0.0)
            rows.append([
                fmt_size(size), fmt_ms(our_med), fmt_ms(gpg_med), f"{gpg_med / our_med:,.0f}x",
                fmt_ms(net), f"{net / our_med:,.1f}x",
            ])
        lines.extend(md_table(
            ["Size", "seal_bytes", "gpg --encrypt", "gpg / ours",
             "gpg minus start-up", "(gpg - start-up) / ours"], rows))
        lines += [
            "",
            f"gpg key: {key_desc} (generated in {keygen_s:.1f} s). "
            f"`gpg --version` start-up baseline: {fmt_ms(startup_med)} (median).",
            "gpg compresses before encrypting by default (random data does not compress), "
            "and reads/writes files; ours works in memory.",
        ]
    except (RuntimeError, subprocess.SubprocessError) as exc:
        print(f"gpg comparison failed, skipped: {exc}", flush=True)
        lines.append(f"**gpg comparison failed, skipped:** {exc}")
    finally:
        # Stop the gpg-agent started for this temporary home only, then remove the home.
        gpgconf = shutil.which("gpgconf")
        if gpgconf:
            subprocess.run([gpgconf, "--kill", "all"], env=_gpg_env(home),
                           capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)
    return lines


# --------------------------------------------------------------------------- 3. receipts


def _spin(stop: threading.Event, counts: list[int]) -> None:
    count = 0
    while not stop.is_set():
        count += 1
    counts.append(count)


def _spin_rate(duration: float, work: Callable[[], object] | None) -> float:
    """Iterations/s a pure-Python thread achieves alone (work=None) or while ``work`` runs."""
    stop = threading.Event()
    counts: list[int] = []
    thread = threading.Thread(target=_spin, args=(stop, counts))
    start = time.perf_counter()
    thread.start()
    if work is None:
        time.sleep(duration)
    else:
        work()
    stop.set()
    thread.join()
    return counts[0] / (time.perf_counter() - start)


def bench_receipts(reps: int, per_thread: int, thread_reps: int) -> list[str]:
    params = crypto.PRODUCTION
    salt = crypto.new_instance_salt()
    receipts = [crypto.generate_receipt() for _ in range(4)]

    def derive(i: int = 0) -> object:
        return crypto.derive_receipt_keys(receipts[i % len(receipts)], salt, params)

    derive()  # warm-up (first allocation of the Argon2 memory)
    single = [timed(lambda i=i: derive(i)) for i in range(reps)]
    single_med = statistics.median(single)
    single_rate = 1 / single_med

    # GIL check: a pure-Python counting thread keeps its pace during a derivation only if
    # argon2-cffi releases the GIL for the C call.
    alone = _spin_rate(single_med, None)
    during = _spin_rate(0, derive)
    gil_share = during / alone
    gil_verdict = ("released (the Python thread kept running during the C call)"
                   if gil_share > 0.5 else "NOT released (the Python thread was blocked)")

    def worker(barrier: threading.Barrier, idx: int) -> None:
        barrier.wait()
        for k in range(per_thread):
            derive(idx + k)

    concurrent = []
    for _ in range(thread_reps):
        barrier = threading.Barrier(3)
        threads = [threading.Thread(target=worker, args=(barrier, i)) for i in range(2)]
        for t in threads:
            t.start()
        barrier.wait()
        start = time.perf_counter()
        for t in threads:
            t.join()
        concurrent.append(2 * per_thread / (time.perf_counter() - start))
    two_rate = statistics.median(concurrent)

    rows = [
        ["Parameters (crypto.PRODUCTION)",
         f"Argon2id t={params.time_cost}, m={params.memory_kib} KiB "
         f"({params.memory_kib // 1024} MiB), p={params.parallelism}"],
        [f"derive_receipt_keys, median of N={reps}",
         f"{fmt_ms(single_med)} (min {fmt_ms(min(single))}, max {fmt_ms(max(single))})"],
        ["Derivations/s, one core (1 / median)", f"{single_rate:.2f}"],
        [f"Derivations/s, 2 threads x {per_thread} (median of {thread_reps})",
         f"{two_rate:.2f} ({two_rate / single_rate:.2f}x one thread)"],
        ["GIL during derivation",
         f"{gil_verdict}: spinner ran at {gil_share:.0%} of its solo rate"],
        ["Memory per concurrent derivation", f"{params.memory_kib // 1024} MiB"],
    ]
    return ["## 3. Receipt derivation (tipster sign-in) at production Argon2 cost", "",
            *md_table(["", ""], rows)]


# --------------------------------------------------------------------------- 4. memory


def _maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def rss_probe(mode: str, workdir: str, size: int) -> None:
    """Child-process probe: print ru_maxrss (KiB) before and after one large operation.

    Run in a fresh process so that the peak is not masked by earlier allocations.
    """
    if mode == "seal":
        key = crypto.PrivateKey.generate()
        data = os.urandom(size)
        before = _maxrss_kib()
        crypto.seal_stream(io.BytesIO(data), DiscardSink(), [key.public_key])
        after = _maxrss_kib()
        # Leave an envelope on disk for the "open" probe (not measured).
        with open(os.path.join(workdir, "body"), "wb") as body:
            sealed = crypto.seal_stream(io.BytesIO(data), body, [key.public_key])
        Path(workdir, "header").write_bytes(sealed.header)
        Path(workdir, "key").write_bytes(key.raw_bytes())
    else:
        key = crypto.PrivateKey.from_raw(Path(workdir, "key").read_bytes())
        header = Path(workdir, "header").read_bytes()
        before = _maxrss_kib()
        with open(os.path.join(workdir, "body"), "rb") as body:
            crypto.open_stream(header, body, DiscardSink(), key)
        after = _maxrss_kib()
    print(json.dumps({"before_kib": before, "after_kib": after}))


def bench_memory(size: int) -> list[str]:
    workdir = tempfile.mkdtemp(prefix="lykta-bench-rss-")
    rows = []
    try:
        for mode, what in (("seal", f"seal_stream, {fmt_size(size)} from an in-memory buffer "
                                    "to a discarding sink"),
                           ("open", f"open_stream, {fmt_size(size)} from a file to a "
                                    "discarding sink")):
            out = subprocess.run(
                [sys.executable, "-m", "bench.crypto_bench", "--rss-probe", mode,
                 "--rss-dir", workdir, "--rss-size", str(size)],
                cwd=REPO_ROOT, capture_output=True, text=True, check=True,
            )
            probe = json.loads(out.stdout.strip().splitlines()[-1])
            growth = probe["after_kib"] - probe["before_kib"]
            rows.append([what, f"{probe['before_kib'] / 1024:.1f} MiB",
                         f"{probe['after_kib'] / 1024:.1f} MiB", f"{growth / 1024:.2f} MiB"])
    except (subprocess.SubprocessError, ValueError, KeyError) as exc:
        return ["## 4. Peak memory", "", f"Probe failed: {exc}"]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return ["## 4. Peak memory (ru_maxrss, fresh child process)", "",
            "'Before' already includes the interpreter and, for seal, the 256 MiB input "
            "buffer; growth is what the operation itself adds to the peak.", "",
            *md_table(["Operation", "maxrss before", "maxrss after", "Growth"], rows)]


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rss-probe", choices=["seal", "open"], help=argparse.SUPPRESS)
    parser.add_argument("--rss-dir", help=argparse.SUPPRESS)
    parser.add_argument("--rss-size", type=int, default=256 * MIB, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_probe:
        rss_probe(args.rss_probe, args.rss_dir, args.rss_size)
        return 0

    started = time.perf_counter()

    def progress(msg: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {msg}", file=sys.stderr, flush=True)

    out = ["# Lykta crypto benchmarks", "", *machine_lines(), ""]
    progress("1. envelope throughput")
    rows, notes = bench_throughput([(MIB, 9, 16), (256 * MIB, 5, 1)])
    out += [*throughput_lines(rows, notes), ""]
    progress("2. seal_bytes vs gpg")
    out += [*bench_vs_gpg([5 * KIB, MIB], gpg_reps=15), ""]
    progress("3. receipt derivation")
    out += [*bench_receipts(reps=5, per_thread=2, thread_reps=3), ""]
    progress("4. peak memory")
    out += [*bench_memory(256 * MIB), ""]
    out.append(f"_Total bench time: {time.perf_counter() - started:.0f} s._")

    text = "\n".join(out) + "\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(RESULTS)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
