"""The part of the scrubber that parses hostile bytes: sniffing, images and PDF here, Office
files in ``casework.scrub_office``. It runs inside the limited child (``scrub_worker``);
call it directly only in tests. Every cap comes from a :class:`Limits`.

Only the standard library, Pillow and pikepdf are imported: the child must not pull in the
app (see ``casework.scrub``).
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
import zlib
from collections.abc import Callable

import pikepdf
from PIL import ExifTags, Image, ImageSequence

from casework.scrub_limits import MIB, N_, CannotScrub, Limits
from casework.scrub_office import scrub_office

log = logging.getLogger(__name__)

# Extensions per type; the first is used when the name's extension doesn't match the content.
EXTENSIONS = {
    "JPEG": (".jpg", ".jpeg", ".jpe", ".jfif"), "PNG": (".png",), "GIF": (".gif",),
    "WEBP": (".webp",), "TIFF": (".tif", ".tiff"), "PDF": (".pdf",),
    "DOCX": (".docx",), "XLSX": (".xlsx",), "PPTX": (".pptx",),
}
_LABELS = {"JPEG": N_("a JPEG image"), "PNG": N_("a PNG image"), "GIF": N_("a GIF image"),
           "WEBP": N_("a WebP image"), "TIFF": N_("a TIFF image"), "PDF": N_("a PDF"),
           "DOCX": N_("a Word document"), "XLSX": N_("an Excel workbook"),
           "PPTX": N_("a PowerPoint presentation"), "ZIP": N_("an Office document")}

_UNREADABLE = N_("the file looks like %(label)s but could not be read (it may be damaged or "
                 "unusual), so it cannot be scrubbed")
_FOREIGN = ((b"\xd0\xcf\x11\xe0", N_("old-style Office files (.doc, .xls, .ppt)")),
            (b"Rar!", N_("RAR archives")), (b"7z\xbc\xaf", N_("7-Zip archives")),
            (b"\x1f\x8b", N_("gzip archives")), (b"{\\rtf", N_("RTF documents")))
# Messages that fill a %(label)s or %(what)s in another message.
MESSAGE_LABELS = frozenset(_LABELS.values()) | {what for _, what in _FOREIGN}
_FOREIGN_TYPE = N_("%(what)s cannot be scrubbed")
_MEDIA = N_("video, audio and HEIC/AVIF image files cannot be scrubbed")
_MISNAMED = N_("the file is named %(ext)s but its content is not %(label)s, so it cannot be "
               "scrubbed")
_OTHER_TYPE = N_("files of type %(ext)s cannot be scrubbed")
_UNKNOWN_TYPE = N_("files of this type cannot be scrubbed")


def clean(data: bytes, filename: str, limits: Limits) -> tuple[bytes, str]:
    """Return (scrubbed bytes, new filename e.g. 'photo.scrubbed.jpg').

    The type comes from the content; the new name gets the extension that matches it.
    Raises CannotScrub (with a reason for the reviewer) for anything not handled.
    MemoryError is left to the caller: the worker reports it as hitting the memory limit.
    """
    kind = sniff(data)
    if kind is None:
        raise _unknown(data, filename)
    handler: Callable[[bytes, str, Limits], tuple[bytes, str]] = (
        _scrub_pdf if kind == "PDF" else scrub_office if kind == "ZIP" else _scrub_image)
    try:
        body, kind = handler(data, kind, limits)
    except (CannotScrub, MemoryError):
        raise
    except Exception as exc:  # parsers of hostile input may raise anything
        log.info("could not scrub %s: %s", kind, type(exc).__name__)
        raise CannotScrub(_UNREADABLE, label=_LABELS[kind]) from exc
    return body, _scrubbed_name(filename, kind)


def sniff(data: bytes) -> str | None:
    """The type from the magic bytes (startswith checks only: safe in the web process)."""
    for magic, kind in ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"),
                        (b"GIF87a", "GIF"), (b"GIF89a", "GIF"), (b"II*\x00", "TIFF"),
                        (b"MM\x00*", "TIFF"), (b"PK\x03\x04", "ZIP")):
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return "PDF" if b"%PDF-" in data[:1024] else None  # readers accept junk before the header


def _unknown(data: bytes, filename: str) -> CannotScrub:
    ext = posixpath.splitext(filename.replace("\\", "/"))[1].lower()
    for magic, what in _FOREIGN:
        if data.startswith(magic):
            return CannotScrub(_FOREIGN_TYPE, what=what)
    if data[4:8] == b"ftyp":
        return CannotScrub(_MEDIA)
    for kind, exts in EXTENSIONS.items():
        if ext in exts:
            return CannotScrub(_MISNAMED, ext=ext, label=_LABELS[kind])
    return CannotScrub(_OTHER_TYPE, ext=ext) if ext else CannotScrub(_UNKNOWN_TYPE)


def _scrubbed_name(filename: str, kind: str) -> str:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    stem, ext = posixpath.splitext(base)
    if ext.lower() not in EXTENSIONS[kind]:
        ext = EXTENSIONS[kind][0]  # the content decides, e.g. a PNG named .pdf -> .png
    return f"{stem or 'attachment'}.scrubbed{ext}"


# --- Images -------------------------------------------------------------------------------

_IMAGE_SAVE: dict[str, dict[str, object]] = {
    # Re-encoding with Pillow's standard tables also drops the camera's own quantisation
    # tables, which fingerprint the device model.
    "JPEG": {"quality": 95}, "PNG": {}, "GIF": {}, "WEBP": {"quality": 95},
    "TIFF": {"compression": "tiff_lzw"},
}
# EXIF orientation -> the transpose that shows the picture upright (as ImageOps does).
_ORIENTATION = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
                8: Image.Transpose.ROTATE_90}


def _scrub_image(data: bytes, kind: str, limits: Limits) -> tuple[bytes, str]:
    frames: list[Image.Image] = []
    turns: list[Image.Transpose | None] = []
    durations: list[object] = []
    pixels = 0
    try:
        # formats=[kind]: parse with the plugin the magic bytes chose, nothing else.
        with Image.open(io.BytesIO(data), formats=[kind]) as src:
            loop = src.info.get("loop")
            for frame in ImageSequence.Iterator(src):
                # The size comes from the header: refuse before decoding a single pixel.
                # All frames count against the limit, or many small ones add up.
                pixels += frame.width * frame.height
                if pixels > limits.max_pixels or len(frames) >= limits.max_frames:
                    raise _too_many_pixels(pixels, limits)
                orientation = frame.getexif().get(ExifTags.Base.Orientation, 1)
                turns.append(_ORIENTATION.get(orientation)
                             if isinstance(orientation, int) else None)
                frames.append(_pixels_only(frame))
                durations.append(frame.info.get("duration", 0))  # WebP sets it on load
                if kind == "JPEG":
                    break  # MPO extras (depth maps, previews) are dropped, not carried over
    # Pillow's own check, on open; the worker turns its warning (between our limit and
    # twice that) into an error too.
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(pixels, limits) from exc
    # Orientation is applied only now that the decoded original is closed, so a turned
    # photo needs two copies of its pixels in memory, not three; the EXIF tag that
    # recorded the orientation is gone with the rest.
    for i, turn in enumerate(turns):
        if turn is not None:
            turned = frames[i].transpose(turn)
            frames[i].close()
            frames[i] = turned
    options = dict(_IMAGE_SAVE[kind])
    if kind == "WEBP" and _webp_lossless(data):
        options = {"lossless": True}
    if len(frames) > 1:
        options.update(save_all=True, append_images=frames[1:])
        if kind != "TIFF":
            options["duration"] = durations
        if loop is not None:
            options["loop"] = loop
    out = io.BytesIO()
    # A fresh image has an empty .info, so Pillow has no exif/icc/comment/text to write back.
    frames[0].save(out, format=kind, **options)
    return out.getvalue(), kind


_TOO_MANY_PIXELS = N_("the image is too large to scrub safely (more than %(limit)s "
                      "megapixels; it may be a decompression bomb)")


def _too_many_pixels(pixels: int, limits: Limits) -> CannotScrub:
    return CannotScrub(_TOO_MANY_PIXELS, limit=f"{limits.max_pixels / 1e6:g}")


def _webp_lossless(data: bytes) -> bool:
    """Whether the (first) picture is lossless; re-encode lossless ones losslessly."""
    pos = 12
    while pos + 8 <= len(data):
        tag, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if tag in (b"VP8 ", b"VP8L", b"ANMF"):
            return tag == b"VP8L"
        pos += 8 + size + (size & 1)
    return False


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new image with only the pixels, plus palette and transparency (pixel data too).

    paste() copies straight from the decoded frame: no intermediate bytes object, so the
    peak is two copies of the picture, not three.
    """
    clean = Image.new(image.mode, image.size)
    clean.paste(image, (0, 0))
    if image.mode in ("P", "PA") and image.palette is not None:
        clean.putpalette(image.getpalette(image.palette.mode) or [], image.palette.mode)
    if "transparency" in image.info:
        clean.info["transparency"] = image.info["transparency"]
    return clean


# --- PDF ----------------------------------------------------------------------------------

# Keys removed from every object: XMP (/Metadata) and application private data (/PieceInfo)
# name authors and tools; associated files (/AF) carry arbitrary files; additional actions
# (/AA) run scripts that may embed identity or phone home.
_PDF_EVERYWHERE = ("/Metadata", "/PieceInfo", "/AF", "/AA")
_ENCRYPTED = N_("the PDF is encrypted, so it cannot be scrubbed")
# LZW: obsolete since PDF 1.2 and slow to decode (a 10 MiB stream kept qpdf busy for
# 46 s). Found in the raw bytes too, names with #xx escapes included, because qpdf
# decodes cross-reference streams while opening, before any check below can run.
_LZW = N_("the PDF uses LZW compression, an obsolete method that can be abused to "
          "exhaust the server, so it cannot be scrubbed")
_TOO_MANY_OBJECTS = N_("the PDF has too many objects to scrub safely")
_ODD_PACKING = N_("the PDF packs its objects in an unusual way, so it cannot be scrubbed "
                  "safely")
_PDF_BOMB = N_("the PDF contains compressed parts that unpack to more than %(limit)s MiB (it "
               "may be a decompression bomb), so it cannot be scrubbed")
_STREAM_KEYWORD = re.compile(rb"(?<!end)stream\r?\n")
_ESCAPED_NAME = re.compile(rb"/[A-Za-z0-9#]*#[0-9A-Fa-f]{2}[A-Za-z0-9#]*")


def _scrub_pdf(data: bytes, kind: str, limits: Limits) -> tuple[bytes, str]:
    if b"/LZWDecode" in data or any(
            _unescaped(name) == b"/LZWDecode" for name in _ESCAPED_NAME.findall(data)):
        raise CannotScrub(_LZW)
    _check_packed_streams(data, limits)
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError as exc:
        raise CannotScrub(_ENCRYPTED) from exc
    with pdf:
        if pdf.is_encrypted:  # even with an empty user password: refuse rather than guess
            raise CannotScrub(_ENCRYPTED)
        _check_pdf_streams(pdf, limits)
        # /Info: Author, Creator, Producer, dates. /ID: would link this copy to the original
        # (and other copies of it); qpdf writes a fresh one when it is missing.
        for key in ("/Info", "/ID"):
            if key in pdf.trailer:
                del pdf.trailer[key]
        root = pdf.Root
        # /OpenAction: script run on opening; /Collection: portfolio of embedded files;
        # /Perms, /DSS: signature permissions and validation data (certificates name people).
        for key in ("/OpenAction", "/Collection", "/Perms", "/DSS"):
            if key in root:
                del root[key]
        names = root.get("/Names")
        if isinstance(names, pikepdf.Dictionary):
            for key in ("/EmbeddedFiles", "/JavaScript"):  # attached files; document scripts
                if key in names:
                    del names[key]
        for obj in pdf.objects:
            _sweep_pdf(obj)
        for page in pdf.pages:
            annots = page.obj.get("/Annots")
            if not isinstance(annots, pikepdf.Array):
                continue
            kept = [a for a in annots if isinstance(a, pikepdf.Dictionary)
                    and a.get("/Subtype") != pikepdf.Name.FileAttachment]  # attached files
            for annot in kept:
                if annot.get("/Subtype") != pikepdf.Name.Widget and "/T" in annot:
                    del annot["/T"]  # a comment's author (for form widgets /T is the field)
            page.obj.Annots = pikepdf.Array(kept)
        out = io.BytesIO()
        # A full rewrite keeps only objects still reachable, so earlier revisions (incremental
        # updates) and everything unlinked above are not written at all. Streams are copied
        # as they are (decode level none): qpdf's default would inflate and re-deflate every
        # one, which is where Flate and LZW bombs cost memory and minutes of CPU.
        pdf.save(out, deterministic_id=False, static_id=False, fix_metadata_version=False,
                 object_stream_mode=pikepdf.ObjectStreamMode.disable,
                 stream_decode_level=pikepdf.StreamDecodeLevel.none)
        return out.getvalue(), kind


def _unescaped(raw: bytes) -> bytes:
    """PDF names may spell any byte as #xx: /Obj#53tm is /ObjStm."""
    return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes.fromhex(m[1].decode()), raw)


def _check_packed_streams(data: bytes, limits: Limits) -> None:
    """Measure object and cross-reference streams in the raw bytes, before qpdf opens them.

    qpdf decodes the cross-reference stream, and the object stream holding the catalog,
    while opening the file: a 500 KiB PDF whose object stream inflated to 256 MiB cost
    430 MiB there. Any stream whose dictionary says /ObjStm or /XRef is inflated into a
    counter first (Flate is what writers use; anything else is refused after opening).
    """
    total = 0
    for keyword in _STREAM_KEYWORD.finditer(data):
        start = keyword.end()
        head = data[max(0, keyword.start() - 4096) : keyword.start()]
        head = _unescaped(head[head.rfind(b"obj") :])
        if b"/ObjStm" not in head and b"/XRef" not in head:
            continue
        end = data.find(b"endstream", start)
        size = _inflated_size(data[start : end if end >= 0 else len(data)],
                              limits.max_object_stream_bytes)
        total += size
        if size > limits.max_object_stream_bytes:
            raise CannotScrub(_PDF_BOMB, limit=max(1, limits.max_object_stream_bytes // MIB))
        if total > limits.max_object_streams_total:
            raise CannotScrub(_PDF_BOMB, limit=max(1, limits.max_object_streams_total // MIB))


def _check_pdf_streams(pdf: pikepdf.Pdf, limits: Limits) -> None:
    """Refuse LZW anywhere, and object streams that inflate beyond the limits.

    Object streams are the only streams decoded here (qpdf must, to read the objects packed
    in them), so they are measured first, by inflating into a counter, before qpdf does.
    """
    table = pdf.get_xref_table()
    if len(table) > limits.max_pdf_objects:
        raise CannotScrub(_TOO_MANY_OBJECTS)
    containers = {entry.obj_stream_number for entry in table.values()
                  if entry.type == 2 and entry.obj_stream_number is not None}
    total = 0
    for number in sorted(containers):
        stream = pdf.get_object((number, 0))
        if not isinstance(stream, pikepdf.Stream):
            continue  # qpdf reports it (or recovers) when it resolves the objects
        filters = _pdf_filters(stream)
        if "/LZWDecode" in filters:
            raise CannotScrub(_LZW)
        if filters not in ([], ["/FlateDecode"]):  # what every writer uses for them
            raise CannotScrub(_ODD_PACKING)
        size = len(stream.read_raw_bytes()) if not filters else _inflated_size(
            stream.read_raw_bytes(), limits.max_object_stream_bytes)
        total += size
        if size > limits.max_object_stream_bytes:
            raise CannotScrub(_PDF_BOMB, limit=max(1, limits.max_object_stream_bytes // MIB))
        if total > limits.max_object_streams_total:
            raise CannotScrub(_PDF_BOMB, limit=max(1, limits.max_object_streams_total // MIB))
    for objgen, entry in table.items():
        if entry.type == 1:  # streams are never packed into object streams
            obj = pdf.get_object(objgen)
            if isinstance(obj, pikepdf.Stream) and "/LZWDecode" in _pdf_filters(obj):
                raise CannotScrub(_LZW)


def _pdf_filters(stream: pikepdf.Stream) -> list[str]:
    value = stream.get("/Filter")
    if value is None:
        return []
    items = list(value) if isinstance(value, pikepdf.Array) else [value]
    return [str(item) if isinstance(item, pikepdf.Name) else "?" for item in items]


def _inflated_size(raw: bytes, cap: int) -> int:
    """Bytes ``raw`` inflates to, counted 1 MiB at a time and stopping just past ``cap``."""
    inflater = zlib.decompressobj()
    size, pending = 0, raw
    try:
        while pending and size <= cap:
            size += len(inflater.decompress(pending, MIB))
            pending = inflater.unconsumed_tail
    except zlib.error:
        pass  # damaged: qpdf decides what it can recover; the size so far is what counts
    return size


def _sweep_pdf(obj: pikepdf.Object) -> None:
    """Strip identifying keys from obj and its direct children (indirect ones get a call each)."""
    if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
        for key in _PDF_EVERYWHERE:
            if key in obj:
                del obj[key]
        if obj.get("/FT") == pikepdf.Name.Sig and "/V" in obj:
            del obj["/V"]  # signature value: signer's certificate, name, location, reason
        if obj.get("/S") == pikepdf.Name.JavaScript and "/JS" in obj:
            del obj["/JS"]  # script behind a link or other action
        children = [obj[key] for key in obj.keys()]  # noqa: SIM118 - streams need .keys()
    elif isinstance(obj, pikepdf.Array):
        children = list(obj)
    else:
        return
    for child in children:
        if isinstance(child, pikepdf.Object) and not child.is_indirect:  # scalars are Python
            _sweep_pdf(child)
