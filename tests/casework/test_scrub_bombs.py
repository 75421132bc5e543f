"""Hostile files against the scrubber's child process and its limits.

Every hostile file is built here, small on disk; the limits are much lower than
production's (``LOW``) so each refusal comes in well under the ~10 s budget of a test.
Every case must end in a ``CannotScrub`` with a reason for the reviewer: never another
exception, never a hang, never a 500 on the download page.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from casework import scrub as scrub_module
from casework.scrub import CannotScrub, Limits, scrub
from casework.scrub_limits import MIB, PRODUCTION

# The hostile files are built in one place, shared with the benchmark.
from tests.support.hostile_files import pdf_object_flood as pdf_flood
from tests.support.hostile_files import png_chunk as chunk
from tests.support.hostile_files import zeros_png

from .conftest import log_in
from .linked import Linked
from .test_scrub import identifying_docx, identifying_pdf, rels

LOW = Limits(memory_bytes=200 * MIB, document_memory_bytes=200 * MIB, cpu_seconds=4,
             wall_seconds=15, max_input_bytes=4 * MIB, max_output_bytes=8 * MIB,
             max_pixels=1_000_000, max_frames=50,
             max_zip_entries=200, max_unpacked_bytes=2 * MIB, max_entry_bytes=2 * MIB,
             max_ratio=100, max_xml_bytes=256 * 1024, max_pdf_objects=20_000,
             max_object_stream_bytes=1 * MIB, max_object_streams_total=2 * MIB)
OFFLINE = "; download the original and handle it offline"


def refused(data: bytes, filename: str, limits: Limits = LOW, budget: float = 10) -> str:
    """The reason the real worker gives, checked to come within ``budget`` seconds."""
    start = time.monotonic()
    with pytest.raises(CannotScrub) as caught:
        scrub(data, filename, limits)
    assert time.monotonic() - start < budget
    reason = str(caught.value)
    assert reason.endswith(OFFLINE)
    return reason


def png(width: int, height: int, idat: bytes = b"") -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(idat))
            + chunk(b"IEND", b""))


def frame(reply: dict[str, object]) -> bytes:
    raw = json.dumps(reply).encode()
    return len(raw).to_bytes(4, "big") + raw


# --- The worker does the real work ----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "WEBP"])
def test_ordinary_pictures_come_back_scrubbed_through_the_worker(fmt: str) -> None:
    image = Image.new("RGB", (64, 48), "teal")
    original = io.BytesIO()
    exif = Image.Exif()
    exif[0x013B] = "Secret Person"  # Artist
    image.save(original, format=fmt, exif=exif)
    assert b"Secret Person" in original.getvalue()

    data, name = scrub(original.getvalue(), "photo", LOW)

    assert b"Secret Person" not in data
    with Image.open(io.BytesIO(data)) as after:
        assert (after.format, after.size) == (fmt, (64, 48))
    assert name.startswith("photo.scrubbed.")


def test_pdf_and_docx_come_back_scrubbed_through_the_worker() -> None:
    pdf, pdf_name = scrub(identifying_pdf(), "minutes.pdf", LOW)
    docx, docx_name = scrub(identifying_docx(), "report.docx", LOW)

    assert (pdf_name, docx_name) == ("minutes.scrubbed.pdf", "report.scrubbed.docx")
    assert b"Secret Person" not in pdf and pdf.startswith(b"%PDF-")
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        assert "docProps/core.xml" not in archive.namelist()


def test_the_child_cannot_write_files_or_start_processes(tmp_path: Path) -> None:
    # confine() as the worker runs it, then try what an attacker who took over a parser
    # would: write the plaintext somewhere, start a program.
    target = tmp_path / "leak"
    code = (scrub_module._BOOT.split("from casework")[0]
            + "from casework.scrub_worker import confine; from casework.scrub_limits import "
            "Limits; import os, subprocess; confine(Limits(memory_bytes=200 * 2**20)); "
            f"f = open({str(target)!r}, 'wb')\n"
            "try:\n    f.write(b'x' * 10); f.flush(); print('wrote')\n"
            "except OSError as e:\n    print('EFBIG' if e.errno == 27 else e)\n"
            "try:\n    subprocess.run(['true']); print('forked')\n"
            "except OSError:\n    print('no fork')\n")
    done = subprocess.run([sys.executable, "-I", "-c", code, scrub_module._HERE],
                          capture_output=True, text=True, timeout=30, check=False)
    lines = done.stdout.split()
    assert lines[0] == "EFBIG", done.stderr
    assert target.stat().st_size == 0
    # Root ignores RLIMIT_NPROC; the service never runs as root.
    assert lines[1:] == (["forked"] if os.geteuid() == 0 else ["no", "fork"])


# --- Zip and Office bombs -------------------------------------------------------------------


def test_docx_whose_content_types_inflate_far_is_refused_while_inflating() -> None:
    # The reported bomb, scaled down: [Content_Types].xml of 64 MiB of blanks, ~64 KiB
    # compressed. Nothing before the cap is ever inflated beyond one chunk past it.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("[Content_Types].xml", "w", force_zip64=True) as part:
            part.write(b'<?xml version="1.0"?><Types xmlns="x">')
            for _ in range(64):
                part.write(b" " * MIB)
            part.write(b"</Types>")
        archive.writestr("_rels/.rels", rels())
    assert len(out.getvalue()) < 200 * 1024

    reason = refused(out.getvalue(), "bomb.docx", Limits(**{**LOW.to_json(),
                                                            "max_unpacked_bytes": 128 * MIB,
                                                            "max_entry_bytes": 128 * MIB}))
    assert "zip bomb" in reason


def deflated(docx: bytes) -> bytes:
    """The same package with every entry deflated (identifying_docx stores them)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info), compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def test_declared_sizes_over_the_limits_are_refused_before_inflating() -> None:
    big = deflated(identifying_docx(extra={"word/media/blank.bin": b"\x00" * (3 * MIB)}))
    assert len(big) < 64 * 1024
    assert "zip bomb" in refused(big, "big.docx")


def test_entry_that_compresses_too_well_is_refused() -> None:
    roomy = Limits(**{**LOW.to_json(), "max_unpacked_bytes": 32 * MIB,
                      "max_entry_bytes": 32 * MIB})
    blank = {"word/media/blank.bin": b"\x00" * (2 * MIB)}  # ~1000:1, the cap is 100:1
    assert "zip bomb" in refused(deflated(identifying_docx(extra=blank)), "ratio.docx", roomy)


def test_entry_longer_than_its_header_says_is_refused() -> None:
    # The central directory declares 1 KiB; the data inflates to 1 MiB. zipfile stops at
    # the declared size, the CRC then fails: a refusal, and never more than was declared.
    data = bytearray(deflated(identifying_docx(extra={"word/media/a.bin": b"\x00" * MIB})))
    entry = data.rindex(b"word/media/a.bin", 0, data.index(b"PK\x05\x06"))
    data[entry - 46 + 24 : entry - 46 + 28] = struct.pack("<I", 1024)
    assert "could not be read" in refused(bytes(data), "lying.docx")


def test_overlapping_entries_are_refused() -> None:
    # Two central-directory entries for the same compressed bytes: the trick behind
    # "non-recursive" zip bombs, where no single entry looks large.
    data = bytearray(identifying_docx())
    headers = [m.start() for m in re.finditer(b"PK\x01\x02", data)]
    first_offset = data[headers[0] + 42 : headers[0] + 46]
    data[headers[1] + 42 : headers[1] + 46] = first_offset
    assert "zip bomb" in refused(bytes(data), "overlap.docx")


def test_too_many_entries_are_refused_before_zipfile_lists_them() -> None:
    many = {f"word/media/image{i}.png": b"" for i in range(LOW.max_zip_entries + 1)}
    assert "zip bomb" in refused(identifying_docx(extra=many), "many.docx")


def test_deeply_nested_package_xml_is_refused() -> None:
    deep = b"<a>" * 20_000 + b"</a>" * 20_000  # under max_xml_bytes: parsed, then refused
    nested = (b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
              b'package/2006/relationships">' + deep + b"</Relationships>")
    assert "unexpected XML" in refused(identifying_docx(extra={"_rels/.rels": nested}),
                                       "deep.docx")


@pytest.mark.parametrize("cut", [30, 200, -30], ids=["header", "middle", "directory"])
def test_truncated_docx_is_refused(cut: int) -> None:
    assert "could not be read" in refused(identifying_docx()[:cut], "cut.docx")


# --- Image bombs -----------------------------------------------------------------------------


def test_png_declaring_89_megapixels_is_refused_at_production_limits() -> None:
    # The reported case: Pillow's own default (89 M pixels) let it decode 1.4 GiB.
    reason = refused(png(9459, 9459), "huge.png", PRODUCTION)
    assert "too large to scrub safely" in reason and "30 megapixels" in reason


@pytest.mark.parametrize(("width", "height"), [(1200, 1000), (100_000, 100_000)],
                         ids=["just-over", "far-over"])
def test_png_over_the_pixel_limit_is_refused_before_decoding(width: int, height: int) -> None:
    # Just over: Pillow only warns (the worker makes that an error); far over: it refuses.
    assert "too large to scrub safely" in refused(png(width, height), "bomb.png")


def test_many_frames_are_refused() -> None:
    frames = [Image.new("L", (4, 4), i) for i in range(LOW.max_frames + 1)]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:])
    assert "too large to scrub safely" in refused(out.getvalue(), "frames.gif")


def test_picture_that_needs_more_memory_than_allowed_is_stopped() -> None:
    # 36 M pixels (144 MiB decoded, twice) under a pixel cap raised on purpose: only the
    # memory limit stands in the way, and the child reports hitting it.
    hungry = Limits(**{**LOW.to_json(), "max_pixels": 40_000_000, "memory_bytes": 160 * MIB})
    reason = refused(zeros_png(6000, 6000), "hungry.png", hungry)
    assert "needed more memory than allowed (160 MiB" in reason


@pytest.mark.parametrize("data", [png(64, 64, b"\x00" * 10), zeros_png(64, 64)[:-40]],
                         ids=["short-data", "truncated"])
def test_damaged_png_is_refused(data: bytes) -> None:
    assert "could not be read" in refused(data, "broken.png")


# --- PDF -------------------------------------------------------------------------------------


def pdf_with_stream(filter_name: str) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    stream = pdf.make_stream(b"\x80\x0b\x60\x50\x22\x0c\x0c\x85\x01")  # LZW for "-----A---B"
    stream[pikepdf.Name.Filter] = pikepdf.Name("/XXXDecode")  # qpdf leaves unknown ones be
    pdf.pages[0].obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(X=stream))
    out = io.BytesIO()
    pdf.save(out, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    assert b"/XXXDecode" in out.getvalue()
    # Escaped names are longer: the xref offsets go stale, which readers (and qpdf) repair.
    return out.getvalue().replace(b"/XXXDecode", filter_name.encode())


@pytest.mark.parametrize("name", ["/LZWDecode", "/LZW#44ecode", "/#4c#5a#57Decode"])
def test_pdf_with_an_lzw_stream_is_refused(name: str) -> None:
    assert "LZW compression" in refused(pdf_with_stream(name), "old.pdf")


@pytest.mark.parametrize("spelling", [b"/ObjStm", b"/Obj#53tm"])
def test_pdf_whose_object_streams_inflate_too_far_is_refused(spelling: bytes) -> None:
    # 3 MiB of zeros in one string, packed by qpdf into an object stream (with the
    # catalog, which qpdf reads while opening): ~3 KiB on disk. Measured in the raw
    # bytes before qpdf sees it, however the stream's type is spelled.
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.Padding = pdf.make_indirect(pikepdf.String(b"\x00" * (3 * MIB)))
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    assert len(out.getvalue()) < 64 * 1024

    data = out.getvalue().replace(b"/ObjStm", spelling)
    assert "unpack to more than 1 MiB" in refused(data, "packed.pdf")


def test_pdf_with_too_many_objects_is_refused() -> None:
    assert "too many objects" in refused(pdf_flood(LOW.max_pdf_objects), "flood.pdf")


def test_pdf_that_needs_more_memory_than_allowed_is_stopped() -> None:
    # Under a raised object cap only memory stands in the way; qpdf runs out inside C++.
    hungry = Limits(**{**LOW.to_json(), "max_pdf_objects": 10**6, "max_input_bytes": 32 * MIB,
                       "document_memory_bytes": 120 * MIB})
    reason = refused(pdf_flood(150_000), "flood.pdf", hungry)
    assert "needed more memory than allowed (120 MiB" in reason


def test_deeply_nested_pdf_is_refused_or_scrubbed_within_limits() -> None:
    # qpdf stops parsing at 500 levels; our own walk of direct objects must not overflow.
    nested = b"[" * 100_000 + b"]" * 100_000
    body = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /Deep " + nested
            + b" >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
            b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
    start = time.monotonic()
    try:
        data, _ = scrub(body, "deep.pdf", LOW)
    except CannotScrub as exc:
        assert str(exc).endswith(OFFLINE)
    else:
        assert data.startswith(b"%PDF-")
    assert time.monotonic() - start < 10


# --- Limits enforced by the parent ----------------------------------------------------------


def test_a_worker_that_runs_too_long_is_killed() -> None:
    # Even an ordinary file takes longer than this to start a Python: the kill path runs.
    quick = Limits(**{**LOW.to_json(), "wall_seconds": 0.01})
    assert "took too long (more than 0.01 seconds" in refused(png(8, 8), "a.png", quick)


def test_input_over_the_size_limit_is_refused_without_starting_the_worker() -> None:
    assert "more than 4 MiB" in refused(b"\x89PNG" + b"\x00" * (4 * MIB), "big.png")


@pytest.mark.parametrize(("returncode", "stdout", "stderr", "reason"), [
    (-signal.SIGXCPU, b"", b"", "took too long (more than 4 seconds"),
    (-signal.SIGKILL, b"", b"", "took too long (more than 4 seconds"),
    (-signal.SIGSEGV, b"", b"", "stopped unexpectedly"),
    (1, b"", b"Traceback\nValueError: bad header", "stopped unexpectedly"),
    (0, b"\x00\x00\x00\x05{nope", b"", "stopped unexpectedly"),
    # qpdf out of memory: C++ terminates the child before it can say so.
    (-signal.SIGABRT, b"", b"terminate called after throwing an instance of "
                           b"'std::bad_alloc'\n", "more memory than allowed (200 MiB"),
    (1, b"", b"Traceback\nMemoryError", "more memory than allowed (200 MiB"),
    (0, frame({"ok": False, "limit": "memory"}), b"", "more memory than allowed (200 MiB"),
    # A child taken over by the file may say anything: only our own messages get through.
    (0, frame({"ok": False, "reason": "Call +46 555 0100", "params": {}}), b"",
     "stopped unexpectedly"),
    (0, frame({"ok": False, "reason": "%(what)s cannot be scrubbed",
               "params": {"what": "phone us"}}), b"", "stopped unexpectedly"),
    (0, frame({"ok": False, "reason": "%(what)s cannot be scrubbed", "params": {}}), b"",
     "stopped unexpectedly"),
    (0, frame({"ok": False, "reason": "%(what)s cannot be scrubbed",
               "params": {"what": "RAR archives"}}), b"", "RAR archives cannot be scrubbed"),
], ids=["sigxcpu", "sigkill", "segv", "exit-1", "bad-json", "bad-alloc", "memory-error",
        "memory-reply", "foreign-text", "foreign-param", "missing-param", "own-param"])
def test_how_the_child_ended_becomes_a_reason(monkeypatch: pytest.MonkeyPatch, returncode: int,
                                              stdout: bytes, stderr: bytes,
                                              reason: str) -> None:
    def fake_run(*args: object, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        return subprocess.CompletedProcess([], returncode, stdout, stderr)

    monkeypatch.setattr(scrub_module.subprocess, "run", fake_run)
    assert reason in refused(png(8, 8), "a.png")


def test_a_worker_that_cannot_start_is_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_python(*args: object, **kwargs: object) -> None:
        raise FileNotFoundError("python")

    monkeypatch.setattr(scrub_module.subprocess, "run", no_python)
    assert "could not be started" in refused(png(8, 8), "a.png")


# --- The download page ------------------------------------------------------------------------


def test_download_page_explains_a_refusal_and_keeps_the_original(
        linked: Linked, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.intake.conftest import submit

    bomb = png(100_000, 100_000)
    submit(linked.intake.test_client(), files=[(io.BytesIO(bomb), "huge.png")])
    linked.sync()
    client = linked.casework.test_client()
    log_in(linked.casework, client, linked.staff["eva"])
    page = client.get("/cases/").get_data(as_text=True)
    case_path = re.search(r'href="(/cases/[0-9a-f]{32})"', page)
    assert case_path
    page = client.get(case_path.group(1)).get_data(as_text=True)
    file_path = re.search(r'href="(/cases/[0-9a-f]+/files/[0-9a-f]+)"', page)
    assert file_path

    answer = client.get(file_path.group(1) + "?scrubbed=1")
    assert answer.status_code == 302
    shown = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "No scrubbed copy: the image is too large to scrub safely" in shown
    assert client.get(file_path.group(1)).data == bomb  # the original, as sent

    # Whatever goes wrong in the parent, still no 500.
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(scrub_module, "run_worker", broken)
    answer = client.get(file_path.group(1) + "?scrubbed=1")
    assert answer.status_code == 302
    assert "stopped unexpectedly" in client.get(answer.headers["Location"]).get_data(
        as_text=True)
