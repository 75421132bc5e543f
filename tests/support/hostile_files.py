"""Hostile files for the scrubber, built in one place for its tests and its benchmark."""

from __future__ import annotations

import struct
import zlib


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk: length, type, body, CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def zeros_png(width: int, height: int) -> bytes:
    """A real RGB picture of black pixels: every row is filter byte 0 and zeros (it
    compresses about 1000:1, so a huge picture is a small file)."""
    deflater = zlib.compressobj(9)
    row = b"\x00" * (1 + 3 * width)
    idat = b"".join(deflater.compress(row) for _ in range(height)) + deflater.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b""))


def pdf_raw(objects: list[bytes]) -> bytes:
    """A PDF written by hand (object 1 the catalog), with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def pdf_deep_nesting(depth: int = 1_000_000) -> bytes:
    """A PDF whose catalog holds arrays nested ``depth`` deep."""
    return pdf_raw([b"<< /Type /Catalog /Pages 2 0 R /Deep " + b"[" * depth + b"]" * depth
                    + b" >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def pdf_object_flood(count: int = 240_000) -> bytes:
    """``count`` objects, every one a dictionary, all reachable from one array, so qpdf
    must hold, and write out, every one."""
    tail = [b"<< /A [1 2 3] /B (x) >>"] * count
    kids = b"[" + b" ".join(b"%d 0 R" % n for n in range(4, count + 4)) + b"]"
    return pdf_raw([b"<< /Type /Catalog /Pages 2 0 R /Flood 3 0 R >>",
                    b"<< /Type /Pages /Kids [] /Count 0 >>", kids, *tail])
