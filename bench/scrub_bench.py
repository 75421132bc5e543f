"""Benchmark: the metadata scrubber against hostile files, at production limits.

Run from the repository root::

    .venv/bin/python -m bench.scrub_bench

For each class of file (ordinary ones for the baseline, then each kind of bomb from the
hardening issue) the file is built once into a private temporary folder (synthetic
content, no case data), then a fresh probe process calls ``casework.scrub.scrub`` on it
REPS times, exactly as the download view does. The probe reports wall time per call,
the child's CPU time and the child's peak RSS (``ru_maxrss`` of RUSAGE_CHILDREN: the
probe's only children are the scrubber's workers, so this is their peak and nothing of
the probe's own). The goal from the issue is at most 256 MiB and 10 s for every hostile
class.

Results are printed and written (overwritten) to ``bench/results/scrub.md``. Nothing
here asserts a limit: the numbers are for people to read. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import harness
from bench.harness import (
    MIB,
    Run,
    fmt_ms,
    fmt_size,
    md_table,
    versions,
)
from tests.support.hostile_files import pdf_deep_nesting, pdf_object_flood, zeros_png

GOAL_MIB, GOAL_S = 256, 10.0


# --------------------------------------------------------------------------- the files


def png_89_megapixels() -> bytes:
    """The issue's PNG: 9459x9459 RGB (89.5 M pixels, Pillow's default limit), all black."""
    return zeros_png(9459, 9459)


_RELS = (b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
         b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
         b'openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
         b'Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.'
         b'openxmlformats.org/package/2006/relationships/metadata/core-properties" '
         b'Target="docProps/core.xml"/></Relationships>')
_TYPES = (b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
          b'2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
          b'openxmlformats-package.relationships+xml"/><Default Extension="xml" '
          b'ContentType="application/xml"/><Override PartName="/word/document.xml" '
          b'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.'
          b'document.main+xml"/>')
_WORD = (b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
         b'wordprocessingml/2006/main"><w:body>')


def docx(types_padding: int = 0, extra: tuple[str, int] | None = None,
         paragraphs: int = 2000) -> bytes:
    """A small Word file; ``types_padding`` blanks inside [Content_Types].xml (the issue's
    bomb), ``extra`` one more part of that many zero bytes (a ratio bomb)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("[Content_Types].xml", "w", force_zip64=True) as part:
            part.write(_TYPES)
            for _ in range(types_padding // MIB):
                part.write(b" " * MIB)
            part.write(b"</Types>")
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("word/document.xml", _WORD + b"".join(
            b"<w:p><w:r><w:t>Paragraph %d of the minutes.</w:t></w:r></w:p>" % i
            for i in range(paragraphs)) + b"</w:body></w:document>")
        archive.writestr("docProps/core.xml", b"<cp:coreProperties xmlns:cp='urn:cp'>"
                                              b"<creator>Secret Person</creator>"
                                              b"</cp:coreProperties>")
        if extra:
            with archive.open(extra[0], "w", force_zip64=True) as part:
                for _ in range(extra[1] // MIB):
                    part.write(bytes(MIB))
    return out.getvalue()


def pdf_pages(pages: int = 20) -> bytes:
    import pikepdf

    pdf = pikepdf.new()
    for i in range(pages):
        pdf.add_blank_page()
        pdf.pages[i].obj.Contents = pdf.make_stream(
            b"BT /F1 12 Tf 72 720 Td (Page %d of the minutes) Tj ET" % i)
    pdf.docinfo["/Author"] = "Secret Person"
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def pdf_lzw(size: int = 10 * MIB) -> bytes:
    """The issue's PDF: one 10 MiB image stream under /LZWDecode (noise: it is refused
    before anything decodes it)."""
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page()
    image = pdf.make_stream(os.urandom(size))
    image[pikepdf.Name.Filter] = pikepdf.Name("/XXXDecode")  # qpdf leaves unknown filters be
    pdf.pages[0].obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    out = io.BytesIO()
    pdf.save(out, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return out.getvalue().replace(b"/XXXDecode", b"/LZWDecode")


def pdf_object_stream_bomb(size: int = 256 * MIB) -> bytes:
    """A string of ``size`` zeros that qpdf packs into a Flate object stream (~0.1 % on disk)."""
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.Padding = pdf.make_indirect(pikepdf.String(bytes(size)))
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


def photo(width: int = 6000, height: int = 4000) -> bytes:
    from bench.casework_bench import photo_jpeg  # the same 24 MP photo as the casework bench

    return photo_jpeg(10 * MIB, width, height)


# (name, description, builder, hostile?)
CLASSES: list[tuple[str, str, Callable[[], bytes], bool]] = [
    ("photo", "ordinary 24 MP camera JPEG (6000x4000, ~10 MiB; the casework bench's)",
     photo, False),
    ("docx", "ordinary .docx, 2,000 paragraphs, with core properties", docx, False),
    ("pdf", "ordinary 20-page PDF with /Info", pdf_pages, False),
    ("docx-types-bomb", ".docx whose [Content_Types].xml inflates to 190 MiB (the issue's)",
     lambda: docx(types_padding=190 * MIB), True),
    ("docx-ratio-bomb", ".docx with a 99 MiB part of zeros (ratio ~1000:1, under the "
     "100 MiB caps)", lambda: docx(extra=("word/media/image1.bin", 99 * MIB)), True),
    ("png-89mp", "PNG of 9459x9459 = 89.5 M pixels (the issue's; Pillow's default limit)",
     png_89_megapixels, True),
    ("pdf-lzw", "PDF with a 10 MiB /LZWDecode stream (the issue's)", pdf_lzw, True),
    ("pdf-objstm-bomb", "PDF whose object stream inflates to 256 MiB", pdf_object_stream_bomb,
     True),
    ("pdf-deep", "PDF with arrays nested 1,000,000 deep", pdf_deep_nesting, True),
    ("pdf-flood", "PDF with 240,000 reachable objects (under the 250,000 cap)",
     pdf_object_flood, True),
]


# A quick run: the same code path on small files, a few seconds in all.
QUICK_CLASSES: list[tuple[str, str, Callable[[], bytes], bool]] = [
    ("photo", "ordinary 600x400 JPEG (quick run)", lambda: photo(600, 400), False),
    ("pdf-deep", "PDF with arrays nested 1,000 deep (quick run)",
     lambda: pdf_deep_nesting(1000), True),
]


def _extension(name: str) -> str:
    return next((ext for ext in ("pdf", "png", "docx") if name.startswith(ext)), "jpg")


# --------------------------------------------------------------------------- the probe


def probe(path: Path, reps: int) -> None:
    """In a fresh process: scrub the file ``reps`` times, print what it cost (JSON)."""
    from casework.scrub import CannotScrub, scrub

    data = path.read_bytes()
    times, cpu, outcomes = [], [], []
    for _ in range(reps):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        try:
            body, name = scrub(data, path.name)
            outcomes.append(f"scrubbed: {name}, {fmt_size(len(body))}")
        except CannotScrub as exc:
            outcomes.append(f"refused: {exc}")
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    print(json.dumps({"times": times, "cpu": cpu, "outcomes": outcomes, "peak_kib": peak}))


def run_probe(path: Path, reps: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "bench.scrub_bench", "--probe", str(path),
                           "--reps", str(reps)], capture_output=True, text=True,
                          cwd=harness.REPO_ROOT, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --------------------------------------------------------------------------- report


def scrub_machine() -> list[str]:
    from casework.scrub_limits import PRODUCTION

    p = PRODUCTION
    limits = (f"memory (RLIMIT_AS) {p.memory_bytes // MIB} MiB for pictures, "
              f"{p.document_memory_bytes // MIB} MiB for PDF/Office; CPU {p.cpu_seconds} s, "
              f"wall {p.wall_seconds:g} s; {p.max_pixels / 1e6:g} M pixels; zip "
              f"{p.max_unpacked_bytes // MIB} MiB, ratio {p.max_ratio}; PDF object streams "
              f"{p.max_object_stream_bytes // MIB} MiB, {p.max_pdf_objects:,} objects")
    return harness.machine_lines([
        ["Pillow / pikepdf (qpdf)", versions("pillow", "pikepdf")],
        ["Limits (production, `casework.scrub_limits.PRODUCTION`)", limits],
    ], harness.code_fingerprint(["casework/scrub*.py"], "casework/scrub*.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    Run.options(parser, "a small photo and a small hostile PDF, scrubbed once each")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", help="comma-separated class names")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        probe(args.probe, args.reps)
        return 0
    run = Run("scrub", args)
    reps = 1 if run.quick else args.reps
    wanted = set(args.only.split(",")) if args.only else None
    rows, notes = [], []
    baseline: float | None = None
    baseline_mib: float | None = None
    with run.workdir() as work, harness.LoadMeter() as load:
        for name, description, build, hostile in QUICK_CLASSES if run.quick else CLASSES:
            if wanted and name not in wanted:
                continue
            run.progress(f"{name}: building")
            data = build()
            path = work / f"{name}.{_extension(name)}"
            path.write_bytes(data)
            del data
            run.progress(f"{name}: {fmt_size(path.stat().st_size)}, scrubbing x{reps}")
            result = run_probe(path, reps)
            best, median = min(result["times"]), statistics.median(result["times"])
            peak_mib = result["peak_kib"] / 1024
            if name == "photo":
                baseline, baseline_mib = median, peak_mib
            verdict = ""
            if hostile:
                ok = peak_mib <= GOAL_MIB and max(result["times"]) <= GOAL_S
                verdict = "yes" if ok else "**no**"
            ratio = (f"{median / baseline:.2f}x / {peak_mib / baseline_mib:.2f}x"
                     if baseline and baseline_mib else "-")
            rows.append([f"`{name}`", fmt_size(path.stat().st_size),
                         f"{fmt_ms(median)} ({fmt_ms(best)})",
                         f"{statistics.median(result['cpu']):.2f} s", f"{peak_mib:.0f} MiB",
                         ratio, verdict or "(baseline)"])
            outcome = sorted(set(result["outcomes"]))
            notes.append(f"- `{name}`: {description}. Outcome: {'; '.join(outcome)}")
            path.unlink()
    lines = [
        *run.heading("Lykta scrubber under hostile files"),
        *scrub_machine(), "",
        "## Cost per file class, production limits", "",
        f"Each file scrubbed {reps} times through `casework.scrub.scrub` (a fresh "
        "worker process per call, as in the download view). Time: wall clock per call, "
        "median (best); it includes starting the worker (Python, Pillow, pikepdf). CPU: the "
        "worker's user+system time, median. Peak: the largest worker's `ru_maxrss`. Ratios "
        "are to the ordinary 24 MP photo (time / peak). Goal for hostile files: at most "
        f"{GOAL_MIB} MiB and {GOAL_S:g} s.", "",
        *md_table(["Class", "File", "Wall, median (best)", "Worker CPU", "Worker peak RSS",
                   "vs photo (time / peak)", f"Within {GOAL_MIB} MiB and {GOAL_S:g} s"],
                  rows), "",
        load.line(), "",
        "What each class is and what happened:", "",
        *notes, "",
    ]
    run.write(lines, partial=wanted is not None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
