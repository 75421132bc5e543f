"""Metadata-scrubbed copies of attachments, for reviewers to download.

``scrub(data, filename)`` takes the type from the content (magic bytes), never from the name
alone, and rebuilds the file without the metadata that most often identifies a source:
images (JPEG, PNG, GIF, WebP, TIFF) through Pillow keep only their pixels; PDFs through
pikepdf lose document info, XMP, file ID, embedded files, scripts, annotation authors and
signatures; .docx/.xlsx/.pptx through zipfile lose document properties, thumbnail and custom
XML. ``NOTES`` (keyed by the scrubbed file's extension) says in plain words what is and is not
removed. Not removed, notably: authors of Office comments and tracked changes (word/
comments.xml, people.xml, w:author in word/document.xml), revision IDs, file and template
paths stored inside Office files, metadata inside pictures embedded in PDF or Office files,
and anything the visible content gives away. Every other type raises ``CannotScrub``.
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
import zipfile
from collections.abc import Callable
from urllib.parse import unquote
from xml.etree import ElementTree as ET  # parsed only after refusing DTDs: _parse_xml
from xml.sax.saxutils import quoteattr

import pikepdf
from PIL import Image, ImageOps, ImageSequence

log = logging.getLogger(__name__)
OFFLINE = "download the original and handle it offline"


class CannotScrub(Exception):
    """str(exc) is a plain-English reason shown to the reviewer."""


_IMAGE_NOTE = (
    "Removed: EXIF (including GPS position, camera make and serial number, owner), XMP, "
    "IPTC, colour profile, comments, text chunks and extra embedded images. Not removed: "
    "what the picture shows, and the camera sensor's noise pattern. JPEG and lossy WebP are "
    "re-encoded at high quality; colours may shift slightly without the colour profile."
)
_PDF_NOTE = (
    "Removed: document information (author, creator, producer, dates), XMP metadata, file "
    "ID, application data (PieceInfo), embedded files, annotation author names, JavaScript "
    "and automatic actions, signature values, earlier saved revisions. Not removed: the "
    "visible content, comment texts, form values, metadata inside embedded pictures."
)
_OFFICE_NOTE = (
    "Removed: document properties (author, last editor, company, manager, template, custom "
    "properties), thumbnail, custom XML parts, zip timestamps. Not removed: authors of "
    "comments and tracked changes, revision IDs, file paths and template paths stored in "
    "the document, printer settings, metadata inside embedded pictures and objects."
)
# Extensions per type; the first is used when the name's extension doesn't match the content.
_EXTENSIONS = {
    "JPEG": (".jpg", ".jpeg", ".jpe", ".jfif"), "PNG": (".png",), "GIF": (".gif",),
    "WEBP": (".webp",), "TIFF": (".tif", ".tiff"), "PDF": (".pdf",),
    "DOCX": (".docx",), "XLSX": (".xlsx",), "PPTX": (".pptx",),
}
_LABELS = {"JPEG": "a JPEG image", "PNG": "a PNG image", "GIF": "a GIF image",
           "WEBP": "a WebP image", "TIFF": "a TIFF image", "PDF": "a PDF",
           "DOCX": "a Word document", "XLSX": "an Excel workbook",
           "PPTX": "a PowerPoint presentation", "ZIP": "an Office document"}
NOTES: dict[str, str] = {
    ext: _PDF_NOTE if kind == "PDF" else _OFFICE_NOTE if kind.endswith("X") else _IMAGE_NOTE
    for kind, exts in _EXTENSIONS.items() for ext in exts
}


def scrub(data: bytes, filename: str) -> tuple[bytes, str]:
    """Return (scrubbed bytes, new filename e.g. 'photo.scrubbed.jpg').

    The type comes from the content; the new name gets the extension that matches it.
    Raises CannotScrub (with a reason for the reviewer) for anything not handled.
    """
    kind = _sniff(data)
    if kind is None:
        raise CannotScrub(_unknown_reason(data, filename))
    handler: Callable[[bytes, str], tuple[bytes, str]] = (
        _scrub_pdf if kind == "PDF" else _scrub_office if kind == "ZIP" else _scrub_image)
    try:
        body, kind = handler(data, kind)
    except CannotScrub:
        raise
    except Exception as exc:  # parsers of hostile input may raise anything
        log.info("could not scrub %s: %s", kind, type(exc).__name__)
        raise CannotScrub(f"the file looks like {_LABELS[kind]} but could not be read (it may "
                          f"be damaged or unusual), so it cannot be scrubbed; {OFFLINE}") from exc
    return body, _scrubbed_name(filename, kind)


def _sniff(data: bytes) -> str | None:
    for magic, kind in ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"),
                        (b"GIF87a", "GIF"), (b"GIF89a", "GIF"), (b"II*\x00", "TIFF"),
                        (b"MM\x00*", "TIFF"), (b"PK\x03\x04", "ZIP")):
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return "PDF" if b"%PDF-" in data[:1024] else None  # readers accept junk before the header


def _unknown_reason(data: bytes, filename: str) -> str:
    ext = posixpath.splitext(filename.replace("\\", "/"))[1].lower()
    for magic, what in ((b"\xd0\xcf\x11\xe0", "old-style Office files (.doc, .xls, .ppt)"),
                        (b"Rar!", "RAR archives"), (b"7z\xbc\xaf", "7-Zip archives"),
                        (b"\x1f\x8b", "gzip archives"), (b"{\\rtf", "RTF documents")):
        if data.startswith(magic):
            return f"{what} cannot be scrubbed; {OFFLINE}"
    if data[4:8] == b"ftyp":
        return f"video, audio and HEIC/AVIF image files cannot be scrubbed; {OFFLINE}"
    for kind, exts in _EXTENSIONS.items():
        if ext in exts:
            return (f"the file is named {ext} but its content is not {_LABELS[kind]}, so it "
                    f"cannot be scrubbed; {OFFLINE}")
    return f"files of {f'type {ext}' if ext else 'this type'} cannot be scrubbed; {OFFLINE}"


def _scrubbed_name(filename: str, kind: str) -> str:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    stem, ext = posixpath.splitext(base)
    if ext.lower() not in _EXTENSIONS[kind]:
        ext = _EXTENSIONS[kind][0]  # the content decides, e.g. a PNG named .pdf -> .png
    return f"{stem or 'attachment'}.scrubbed{ext}"


# --- Images -------------------------------------------------------------------------------

_IMAGE_SAVE: dict[str, dict[str, object]] = {
    # Re-encoding with Pillow's standard tables also drops the camera's own quantisation
    # tables, which fingerprint the device model.
    "JPEG": {"quality": 95}, "PNG": {}, "GIF": {}, "WEBP": {"quality": 95},
    "TIFF": {"compression": "tiff_lzw"},
}
_FALLBACK_PIXELS = 89_478_485  # Pillow's default, should anyone have set the limit to None
_MAX_FRAMES = 1000


def _scrub_image(data: bytes, kind: str) -> tuple[bytes, str]:
    too_big = CannotScrub("the image is too large to scrub safely (it may be a decompression "
                          f"bomb); {OFFLINE}")
    limit = Image.MAX_IMAGE_PIXELS or _FALLBACK_PIXELS
    frames: list[Image.Image] = []
    durations: list[object] = []
    pixels = 0
    try:
        # formats=[kind]: parse with the plugin the magic bytes chose, nothing else.
        with Image.open(io.BytesIO(data), formats=[kind]) as src:
            loop = src.info.get("loop")
            for frame in ImageSequence.Iterator(src):
                pixels += frame.width * frame.height  # all frames count against the limit
                if pixels > limit or len(frames) >= _MAX_FRAMES:
                    raise too_big
                # Orientation first, since the EXIF tag that records it is about to go.
                frames.append(_pixels_only(ImageOps.exif_transpose(frame)))
                durations.append(frame.info.get("duration", 0))  # WebP sets it on load
                if kind == "JPEG":
                    break  # MPO extras (depth maps, previews) are dropped, not carried over
    except Image.DecompressionBombError as exc:
        raise too_big from exc
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
    """A new image with only the pixels, plus palette and transparency (pixel data too)."""
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
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
_ENCRYPTED = f"the PDF is encrypted, so it cannot be scrubbed; {OFFLINE}"


def _scrub_pdf(data: bytes, kind: str) -> tuple[bytes, str]:
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError as exc:
        raise CannotScrub(_ENCRYPTED) from exc
    with pdf:
        if pdf.is_encrypted:  # even with an empty user password: refuse rather than guess
            raise CannotScrub(_ENCRYPTED)
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
        # updates) and everything unlinked above are not written at all.
        pdf.save(out, deterministic_id=False, static_id=False, fix_metadata_version=False,
                 object_stream_mode=pikepdf.ObjectStreamMode.disable)
        return out.getvalue(), kind


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


# --- Office Open XML ----------------------------------------------------------------------

_MAX_ENTRIES = 5000
_MAX_UNPACKED = 200 * 1024 * 1024
_MAIN_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "DOCX",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "XLSX",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml":
        "PPTX",
}
# Parts dropped by name (lower case) and by relationship type (suffix; Transitional and
# Strict differ only in the prefix): core properties (author, last editor, dates), extended
# properties (company, manager, template), custom properties (e.g. sensitivity labels naming
# the organisation), thumbnail (a picture of page one), custom XML (SharePoint and
# data-binding details), Microsoft classification labels.
_DROP_PREFIXES = ("docprops/core.xml", "docprops/app.xml", "docprops/custom.xml",
                  "docprops/thumbnail.", "customxml/", "docmetadata/")
_DROP_REL_TYPES = ("/core-properties", "/extended-properties", "/custom-properties",
                   "/metadata/thumbnail", "/customXml", "/classificationlabels")
_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_NOT_OFFICE = (f"only Word, Excel and PowerPoint files (.docx, .xlsx, .pptx) can be scrubbed, "
               f"not macro-enabled files, templates or other zip files; {OFFLINE}")


def _scrub_office(data: bytes, kind: str) -> tuple[bytes, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        infos = _checked_entries(src)
        parts = {_norm(i.filename): i for i in infos if not i.is_dir()}
        if "[content_types].xml" not in parts or "_rels/.rels" not in parts:
            if "mimetype" in parts:
                raise CannotScrub(f"OpenDocument and EPUB files cannot be scrubbed; {OFFLINE}")
            raise CannotScrub(_NOT_OFFICE)
        package_rels = _parse_xml(src.read(parts["_rels/.rels"]), _RELS_NS)
        dropped = {name for name in parts if name.startswith(_DROP_PREFIXES)}
        main = None
        for rel in package_rels:
            target, rel_type = _resolve("", rel.get("Target", "")), rel.get("Type", "")
            if rel_type.endswith(_DROP_REL_TYPES):
                dropped.add(target)
            elif rel_type.endswith("/officeDocument"):
                main = target
        # A dropped part's own relationships go with it.
        dropped |= {n for n in parts if n.endswith(".rels") and _rels_owner(n) in dropped}
        content_types = _parse_xml(src.read(parts["[content_types].xml"]), _CT_NS)
        main_type = next((o.get("ContentType") for o in content_types
                          if _norm(o.get("PartName", "")) == main), None)
        kind = _MAIN_TYPES.get(main_type or "", "")
        if not kind or main in dropped or main not in parts:
            raise CannotScrub(_NOT_OFFICE)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for name, info in parts.items():
                if name in dropped:
                    continue
                body = src.read(info)
                if name == "[content_types].xml":
                    body = _without(content_types, _CT_NS, lambda o: _norm(
                        o.get("PartName", "")) in dropped)
                elif name.endswith(".rels"):
                    body = _rewrite_rels(body, _rels_owner(name), dropped)
                # A fresh entry: no original timestamps (time zone, working hours), no
                # extra fields (owner uid/gid, NTFS times), no comments.
                dst.writestr(zipfile.ZipInfo(info.filename, (1980, 1, 1, 0, 0, 0)), body)
    return out.getvalue(), kind


def _checked_entries(src: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    infos = src.infolist()
    # Zip bombs: sizes are the declared ones, and zipfile stops reading at the declared size.
    if len(infos) > _MAX_ENTRIES or sum(i.file_size for i in infos) > _MAX_UNPACKED:
        raise CannotScrub("the file is too large or has too many parts to unpack safely (it "
                          f"may be a zip bomb); {OFFLINE}")
    # Path traversal, absolute and Windows paths: no part of an Office file looks like that.
    if any(".." in i.filename.split("/") or re.match(r"[/\\]|[A-Za-z]:", i.filename)
           or "\\" in i.filename or "\x00" in i.filename for i in infos):
        raise CannotScrub(f"the file contains an unsafe part name; {OFFLINE}")
    names = [_norm(i.filename) for i in infos]
    if len(set(names)) != len(names):  # part names are case-insensitive: which one is read?
        raise CannotScrub(f"the file contains duplicate part names; {OFFLINE}")
    return infos


def _norm(name: str) -> str:
    return unquote(name).lstrip("/").lower()


def _resolve(base: str, target: str) -> str:
    path = target if target.startswith("/") else posixpath.join("/", base, target)
    return _norm(posixpath.normpath(path))


def _rels_owner(name: str) -> str:
    """'word/_rels/document.xml.rels' -> 'word/document.xml'; '_rels/.rels' -> ''."""
    folder, _, rest = name.rpartition("_rels/")
    return folder + rest.removesuffix(".rels")


def _rewrite_rels(body: bytes, owner: str, dropped: set[str]) -> bytes:
    rels = _parse_xml(body, _RELS_NS)
    base = posixpath.dirname(owner)

    def points_at_dropped(rel: ET.Element) -> bool:
        return rel.get("Type", "").endswith(_DROP_REL_TYPES) or (
            rel.get("TargetMode") != "External"
            and _resolve(base, rel.get("Target", "")) in dropped)

    if not any(points_at_dropped(rel) for rel in rels):
        return body  # untouched parts are copied byte for byte
    return _without(rels, _RELS_NS, points_at_dropped)


def _parse_xml(body: bytes, namespace: str) -> ET.Element:
    # Office never writes DTDs. Refusing them (and UTF-16, in which the check below could
    # be dodged) rules out entity expansion ("billion laughs") and external entities.
    if b"\x00" in body or b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise CannotScrub(f"the file contains unexpected XML; {OFFLINE}")
    root = ET.fromstring(body)  # noqa: S314 - DTDs refused above
    # Rels and content types are flat lists; anything else would not survive _without.
    if not root.tag.startswith(f"{{{namespace}}}") or any(
            not child.tag.startswith(f"{{{namespace}}}") or len(child)
            or any(key.startswith("{") for key in child.attrib) for child in root):
        raise CannotScrub(f"the file contains unexpected XML; {OFFLINE}")
    return root


def _without(root: ET.Element, namespace: str, drop: Callable[[ET.Element], bool]) -> bytes:
    """Serialise a flat OPC list (rels, content types) without the dropped elements, by hand
    so the namespace stays the default one (no 'ns0:' prefixes): Office is strict about it."""
    lines = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
             f"<{root.tag.split('}')[-1]} xmlns={quoteattr(namespace)}>"]
    for child in root:
        if not drop(child):
            attrs = "".join(f" {key}={quoteattr(value)}" for key, value in child.attrib.items())
            lines.append(f"<{child.tag.split('}')[-1]}{attrs}/>")
    lines.append(f"</{root.tag.split('}')[-1]}>")
    return "\r\n".join(lines).encode()
