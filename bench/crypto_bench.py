"""Benchmarks for crypto/: envelope throughput, seal latency vs gpg, receipt derivation cost.

Run from the repository root::

    .venv/bin/python -m bench.crypto_bench

Results are printed and written (overwritten) to ``bench/results/crypto.md``. Nothing here
asserts a time limit: the numbers are for people to read. See bench/README.md.

The raw libsodium baselines come from ``crypto.baseline`` (libsodium stays in crypto/)
(application code must go through ``crypto``).
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
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
from pathlib import Path

import crypto
from bench import harness
from bench.harness import (
    KIB,
    MB,
    MIB,
    DiscardSink,
    Run,
    failure_lines,
    fmt_ms,
    fmt_size,
    md_table,
    memory_kib,
    version,
)
from crypto import baseline

CHUNK = crypto.DEFAULT_CHUNK_SIZE


GPG_UID = "bench <bench@example.invalid>"
GPG_EMAIL = "bench@example.invalid"


# --------------------------------------------------------------------------- helpers


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


def crypto_machine() -> list[str]:
    gpg = shutil.which("gpg")
    gpg_version = "not installed"
    if gpg:
        out = subprocess.run([gpg, "--version"], capture_output=True, text=True, check=False)
        gpg_version = out.stdout.splitlines()[0] if out.stdout else "unknown"
    return harness.machine_lines([
        ["PyNaCl", f"{version('PyNaCl')} (bundled libsodium; PyNaCl does not "
                   "expose its version string)"],
        ["argon2-cffi", f"{version('argon2-cffi')} (bindings {version('argon2-cffi-bindings')})"],
        ["cryptography", version("cryptography")],
        ["gpg", gpg_version],
    ], harness.code_fingerprint(["crypto/*.py"], "crypto/*.py"))


# --------------------------------------------------------------------------- 1. throughput


def raw_push(data: bytes, key: bytes, out: list[bytes] | None = None) -> bytes:
    """Raw secretstream over ``data`` in CHUNK pieces, last one FINAL; returns the header."""
    return baseline.raw_push(data, key, CHUNK, out)


def raw_pull(header: bytes, ciphertext: bytes, key: bytes) -> None:
    """Raw secretstream pull over a contiguous run of CHUNK+ABYTES ciphertexts."""
    baseline.raw_pull(header, ciphertext, key, CHUNK)


@dataclass
class ThroughputRow:
    op: str
    size: int
    envelope: list[float]  # seconds per call
    raw: list[float]
    body_size: int = 0

    def mbps(self, samples: list[float], pick: Callable[[list[float]], float]) -> float:
        return self.size / pick(samples) / MB

    def ratio(self, pick: Callable[[list[float]], float]) -> float:
        # Ratio of throughputs = raw time / envelope time.
        return pick(self.raw) / pick(self.envelope)


Notes = dict[int, dict[str, int]]  # plaintext size: repetitions and calls per repetition


def bench_throughput(sizes: list[tuple[int, int, int]]) -> tuple[list[ThroughputRow], Notes]:
    """sizes: (plaintext bytes, repetitions, calls per repetition)."""
    recipient = crypto.PrivateKey.generate()
    recipients = [recipient.public_key]
    raw_key = os.urandom(32)
    rows: list[ThroughputRow] = []
    notes: Notes = {}
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


def throughput_lines(rows: list[ThroughputRow], notes: Notes) -> list[str]:
    table = []
    for row in rows:
        env_med = row.mbps(row.envelope, statistics.median)
        env_best = row.mbps(row.envelope, min)
        raw_med = row.mbps(row.raw, statistics.median)
        raw_best = row.mbps(row.raw, min)
        ratio_best = row.ratio(min)
        verdict = "ok" if ratio_best >= 0.9 else "**below 0.9**"
        table.append([
            row.op, fmt_size(row.size),
            f"{env_med:,.0f} ({env_best:,.0f})", f"{raw_med:,.0f} ({raw_best:,.0f})",
            f"{ratio_best:.3f} {verdict}", f"{row.ratio(statistics.median):.3f}",
            f"{row.body_size / row.size:.4f}",
        ])
    reps = ", ".join(f"{fmt_size(s)}: N={n['reps']} x {n['batch']} call(s)"
                     for s, n in notes.items())
    return [
        "## 1. Envelope throughput vs raw libsodium secretstream",
        "",
        f"64 KiB chunks, in-memory source (io.BytesIO over one pre-generated random buffer),"
        f" output discarded; envelope and raw runs alternate. MB/s = 10^6 plaintext bytes"
        f" per second; median of N (best in parentheses). Ratio = envelope/raw throughput"
        f" from best-of-N (target >= 0.9) and from medians. ({reps})",
        "",
        *md_table(["Operation", "Size", "Envelope MB/s", "Raw secretstream MB/s",
                   "Ratio env/raw (best)", "Ratio (median)", "Body bytes / plaintext"],
                  table),
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


def _time_ours(sizes: list[int], reps: int = 7) -> dict[int, list[float]]:
    recipients = [crypto.PrivateKey.generate().public_key]
    ours: dict[int, list[float]] = {}
    for size in sizes:
        data = os.urandom(size)
        batch = 50 if size <= 64 * KIB else 5
        samples = interleaved({"seal": functools.partial(crypto.seal_bytes, data, recipients)},
                              reps=reps, batch=batch)
        ours[size] = samples["seal"]
    return ours


def _time_gpg(gpg: str, home: str, sizes: list[int], reps: int) -> dict[str, list[float]]:
    """Median-ready samples for gpg start-up and encryption, runs interleaved."""
    env = _gpg_env(home)
    commands: dict[str, list[str]] = {"startup": [gpg, "--version"]}
    for size in sizes:
        src = Path(home) / f"report-{size}.bin"
        src.write_bytes(os.urandom(size))
        base = [gpg, "--batch", "--yes", "--trust-model", "always", "-r", GPG_EMAIL]
        commands[f"enc-{size}"] = [*base, "--output", f"{src}.gpg", "--encrypt", str(src)]
        commands[f"z0-{size}"] = [*base, "-z", "0", "--output", f"{src}.z0.gpg",
                                  "--encrypt", str(src)]
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for rep in range(reps + 1):
        for name, cmd in commands.items():
            took = timed(functools.partial(subprocess.run, cmd, env=env, capture_output=True,
                                           check=True))
            if rep:  # the first round (trustdb, caches) is warm-up
                samples[name].append(took)
    return samples


def bench_vs_gpg(sizes: list[int], gpg_reps: int) -> tuple[list[str], harness.LoadMeter]:
    lines = [
        "## 2. Sealing one report to one recipient: crypto.seal_bytes vs gpg --encrypt",
        "",
        "Random plaintext. Ours: in-process `crypto.seal_bytes`, median of 7 x (50 calls for "
        "5 KiB, 5 calls for 1 MiB). gpg: `gpg --batch --yes --trust-model always -r ... "
        f"--encrypt` on a file in a temporary GNUPGHOME, median of N={gpg_reps} runs, which "
        "includes process start-up; `gpg --version` is timed as the start-up baseline. "
        "All gpg runs are interleaved.",
        "",
    ]
    gpg = shutil.which("gpg")
    if not gpg:
        print("gpg is not installed (not on PATH): skipping the gpg comparison.", flush=True)
        with harness.LoadMeter() as load:
            ours = _time_ours(sizes)
        lines.append("**gpg is not installed (not on PATH): comparison skipped.**")
        lines.append("")
        lines.extend(md_table(["Size", "seal_bytes (median)"],
                              [[fmt_size(s), fmt_ms(statistics.median(v))]
                               for s, v in ours.items()]))
        return lines, load

    home = tempfile.mkdtemp(prefix="lykta-bench-gnupg-")
    load = harness.LoadMeter()
    try:
        os.chmod(home, 0o700)
        # Key generation runs inside gpg-agent (not our child): keep it out of the load
        # figure, which would otherwise count it as "other processes".
        key_desc, keygen_s = _gpg_generate_key(gpg, home)
        with load:
            ours = _time_ours(sizes)
            gpg_samples = _time_gpg(gpg, home, sizes, gpg_reps)
        startup = statistics.median(gpg_samples["startup"])
        rows = []
        for size in sizes:
            our = statistics.median(ours[size])
            enc = statistics.median(gpg_samples[f"enc-{size}"])
            z0 = statistics.median(gpg_samples[f"z0-{size}"])
            net = max(enc - startup, 0.0)
            rows.append([
                fmt_size(size), fmt_ms(our), fmt_ms(enc), f"{enc / our:,.0f}x",
                fmt_ms(net), f"{net / our:,.1f}x",
                f"{fmt_ms(z0)} ({max(z0 - startup, 0.0) / our:,.1f}x)",
            ])
        lines.extend(md_table(
            ["Size", "seal_bytes", "gpg --encrypt", "gpg / ours",
             "gpg minus start-up", "(gpg - start-up) / ours",
             "gpg -z 0 (minus start-up / ours)"], rows))
        lines += [
            "",
            f"gpg key: {key_desc} (generated in {keygen_s:.1f} s, untimed). "
            f"`gpg --version` start-up baseline: {fmt_ms(startup)} (median).",
            "gpg compresses (zlib) before encrypting by default, which costs time even on "
            "random data that does not compress; the last column turns compression off. "
            "gpg also reads and writes files; ours works in memory.",
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
    return lines, load


# --------------------------------------------------------------------------- 3. receipts


def _longest_stall(work: Callable[[], object]) -> tuple[float, float]:
    """Run ``work`` while a pure-Python thread ticks; return (work seconds, longest gap).

    If ``work`` holds the GIL, the ticking thread stalls for the whole call (gap ~ work
    time). If it releases the GIL, the gap stays at scheduler scale (milliseconds), even
    when other processes load the machine.
    """
    stop = threading.Event()
    gaps: list[float] = []

    def tick() -> None:
        last = time.perf_counter()
        gap = 0.0
        while not stop.is_set():
            now = time.perf_counter()
            gap = max(gap, now - last)
            last = now
        gaps.append(gap)

    thread = threading.Thread(target=tick)
    thread.start()
    time.sleep(0.05)  # let the ticker get going
    start = time.perf_counter()
    work()
    duration = time.perf_counter() - start
    stop.set()
    thread.join()
    return duration, gaps[0]


def bench_receipts(reps: int, per_thread: int, thread_reps: int,
                   params: crypto.Argon2Params = crypto.PRODUCTION) -> list[str]:
    salt = crypto.new_instance_salt()
    receipts = [crypto.generate_receipt() for _ in range(4)]

    def derive(i: int = 0) -> object:
        return crypto.derive_receipt_keys(receipts[i % len(receipts)], salt, params)

    derive()  # warm-up (first allocation of the Argon2 memory)
    single: list[float] = []
    single_cpu: list[float] = []
    for i in range(reps):
        cpu0 = time.thread_time()
        single.append(timed(functools.partial(derive, i)))
        single_cpu.append(time.thread_time() - cpu0)
    single_med = statistics.median(single)
    single_rate = 1 / single_med

    # GIL check: a ticking Python thread must keep running during the Argon2 C call. The
    # control is a C call known to hold the GIL (sum over a range, no bytecode involved).
    derive_s, derive_gap = _longest_stall(derive)
    control_s, control_gap = _longest_stall(lambda: sum(range(20_000_000)))
    released = derive_gap < derive_s / 4 and control_gap > control_s / 2
    gil_verdict = (
        f"{'released' if released else '**NOT shown released**'}: a Python thread's longest "
        f"stall during a {fmt_ms(derive_s)} derivation was {fmt_ms(derive_gap)} "
        f"(control, C code holding the GIL for {fmt_ms(control_s)}: "
        f"{fmt_ms(control_gap)} stall)"
    )

    # Per derivation run concurrently: CPU time of its thread (grows if the two fight over
    # memory bandwidth/cache) and wall time (grows too if other processes take the CPU).
    conc_cpu: list[float] = []
    conc_wall: list[float] = []

    def worker(barrier: threading.Barrier, idx: int) -> None:
        barrier.wait()
        for k in range(per_thread):
            cpu0, wall0 = time.thread_time(), time.perf_counter()
            derive(idx + k)
            conc_cpu.append(time.thread_time() - cpu0)  # list.append is thread-safe
            conc_wall.append(time.perf_counter() - wall0)

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
        ["Parameters (crypto.PRODUCTION)" if params == crypto.PRODUCTION
         else "Parameters (quick run: crypto.INSECURE_FAST)",
         f"Argon2id t={params.time_cost}, m={params.memory_kib} KiB "
         f"({params.memory_kib // 1024} MiB), p={params.parallelism}"],
        [f"derive_receipt_keys, median of N={reps}",
         f"{fmt_ms(single_med)} (min {fmt_ms(min(single))}, max {fmt_ms(max(single))})"],
        ["Derivations/s, one core (1 / median)", f"{single_rate:.2f}"],
        [f"Derivations/s, 2 threads x {per_thread} (median of {thread_reps})",
         f"{two_rate:.2f} ({two_rate / single_rate:.2f}x one thread)"],
        ["CPU time per derivation: alone / 2 concurrent (medians)",
         f"{fmt_ms(statistics.median(single_cpu))} / {fmt_ms(statistics.median(conc_cpu))} "
         "(growth = the two derivations slowing each other: memory bandwidth, cache)"],
        ["Wall time per derivation, 2 concurrent (median)",
         f"{fmt_ms(statistics.median(conc_wall))}; each thread got "
         f"{sum(conc_cpu) / sum(conc_wall):.0%} of a core (below 100% = CPU taken by other "
         "processes)"],
        ["GIL during derivation", gil_verdict],
        ["Memory per concurrent derivation", f"{params.memory_kib // 1024} MiB"],
    ]
    return ["## 3. Receipt derivation (tipster sign-in) at production Argon2 cost", "",
            *md_table(["", ""], rows), "",
            "Argon2 is memory-bound: two concurrent derivations also share memory bandwidth "
            "and cache, so 2 threads on 2 cores can scale below 2x even with the GIL "
            "released. The CPU-time and core-share rows say which limit was hit."]


# --------------------------------------------------------------------------- 4. memory


def _maxrss_kib() -> int:
    """Peak RSS of this process in KiB.

    /proc/self/status VmHWM is the per-address-space peak. ru_maxrss would be the same
    except that Linux carries the parent's peak across fork+exec, which would hide the
    child's own growth behind the parent's 1 GB of bench buffers; it is the fallback.
    """
    return memory_kib().get("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


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
                cwd=harness.REPO_ROOT, capture_output=True, text=True, check=True,
            )
            probe = json.loads(out.stdout.strip().splitlines()[-1])
            growth = probe["after_kib"] - probe["before_kib"]
            rows.append([what, f"{probe['before_kib'] / 1024:.1f} MiB",
                         f"{probe['after_kib'] / 1024:.1f} MiB", f"{growth / 1024:.2f} MiB"])
    except (subprocess.SubprocessError, ValueError, KeyError) as exc:
        return ["## 4. Peak memory", "", *failure_lines("The peak memory probe", exc)]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return ["## 4. Peak memory (peak RSS, fresh child process)", "",
            "Peak RSS = VmHWM from /proc/self/status (ru_maxrss of a child inherits the "
            "parent's peak on Linux). 'Before' already includes the interpreter and, for "
            "seal, the 256 MiB input buffer; growth is what the operation adds to the peak.",
            "",
            *md_table(["Operation", "maxrss before", "maxrss after", "Growth"], rows)]


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    Run.options(parser, "64 KiB and 1 MiB bodies, cheap Argon2, one gpg round")
    parser.add_argument("--rss-probe", choices=["seal", "open"], help=argparse.SUPPRESS)
    parser.add_argument("--rss-dir", help=argparse.SUPPRESS)
    parser.add_argument("--rss-size", type=int, default=256 * MIB, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_probe:
        rss_probe(args.rss_probe, args.rss_dir, args.rss_size)
        return 0

    run = Run("crypto", args)
    big = MIB if run.quick else 256 * MIB
    out = [*run.heading("Lykta crypto benchmarks"), *crypto_machine(), ""]
    run.progress("1. envelope throughput")
    with harness.LoadMeter() as load:
        rows, notes = bench_throughput([(64 * KIB, 2, 1), (big, 2, 1)] if run.quick
                                       else [(MIB, 15, 16), (big, 5, 1)])
    out += [*throughput_lines(rows, notes), "", load.line(), ""]
    run.progress("2. seal_bytes vs gpg")
    section, load = bench_vs_gpg([5 * KIB] if run.quick else [5 * KIB, MIB],
                                 gpg_reps=1 if run.quick else 15)
    out += [*section, "", load.line(), ""]
    run.progress("3. receipt derivation")
    with harness.LoadMeter() as load:
        section = (bench_receipts(reps=2, per_thread=1, thread_reps=1,
                                  params=crypto.INSECURE_FAST) if run.quick
                   else bench_receipts(reps=5, per_thread=2, thread_reps=3))
    out += [*section, "", load.line(), ""]
    run.progress("4. peak memory")
    out += [*bench_memory(big), ""]
    run.write(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
