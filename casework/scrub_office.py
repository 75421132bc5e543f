"""Office Open XML (.docx/.xlsx/.pptx) for the scrubber: document properties, thumbnail and
custom XML dropped, every other part copied. Runs inside the limited child, like
``casework.scrub_formats``; every size is capped by a :class:`Limits`.

Zip bombs are stopped three ways: the declared sizes are checked before anything is
inflated; every entry is inflated in 64 KiB chunks into a counter (total, per entry, and
ratio to its compressed size), so a lying header costs at most one chunk; and the parts
we parse as XML are read only up to ``max_xml_bytes`` (a 558 KiB .docx whose
``[Content_Types].xml`` inflated to 190 MiB used to take 26 s and 2.8 GiB in ElementTree).
"""

from __future__ import annotations

import io
import itertools
import posixpath
import re
import zipfile
from collections.abc import Callable
from urllib.parse import unquote
from xml.etree import ElementTree as ET  # parsed only after refusing DTDs: _parse_xml
from xml.sax.saxutils import quoteattr

from casework.scrub_limits import MIB, N_, CannotScrub, Limits

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
_NOT_OFFICE = N_("only Word, Excel and PowerPoint files (.docx, .xlsx, .pptx) can be "
                 "scrubbed, not macro-enabled files, templates or other zip files")
_BOMB = N_("the file is too large or has too many parts to unpack safely (it may be a zip "
           "bomb)")
_UNEXPECTED_XML = N_("the file contains unexpected XML")
_OPENDOCUMENT = N_("OpenDocument and EPUB files cannot be scrubbed")
_UNSAFE_NAME = N_("the file contains an unsafe part name")
_DUPLICATE_NAME = N_("the file contains duplicate part names")
_CHUNK = 64 * 1024
_RATIO_FROM = MIB  # small entries may compress very well (runs of spaces) and cost nothing


class _Budget:
    """Inflated bytes so far, in all and for the current entry."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.total = 0

    def read(self, src: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int,
             sink: Callable[[bytes], object]) -> None:
        """Inflate one entry into ``sink`` chunk by chunk, refusing as soon as a cap is hit."""
        size = 0
        with src.open(info) as entry:
            while chunk := entry.read(_CHUNK):
                size += len(chunk)
                self.total += len(chunk)
                # zipfile stops at the declared size and checks the CRC; counting anyway
                # means no cap depends on zipfile's internals.
                if (size > cap or size > info.file_size
                        or self.total > self.limits.max_unpacked_bytes):
                    raise CannotScrub(_BOMB)
                if size > _RATIO_FROM and size > self.limits.max_ratio * max(
                        info.compress_size, 1):
                    raise CannotScrub(_BOMB)
                sink(chunk)

    def read_xml(self, src: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
        if info.file_size > self.limits.max_xml_bytes:
            raise CannotScrub(_BOMB)
        parts: list[bytes] = []
        self.read(src, info, self.limits.max_xml_bytes, parts.append)
        return b"".join(parts)


def scrub_office(data: bytes, kind: str, limits: Limits) -> tuple[bytes, str]:
    # Each central directory entry becomes a ZipInfo when zipfile opens the archive; count
    # them first, so a small file listing millions of entries is refused before that.
    if data.count(b"PK\x01\x02") > limits.max_zip_entries:
        raise CannotScrub(_BOMB)
    budget = _Budget(limits)
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        infos = _checked_entries(src, limits)
        parts = {_norm(i.filename): i for i in infos if not i.is_dir()}
        if "[content_types].xml" not in parts or "_rels/.rels" not in parts:
            if "mimetype" in parts:
                raise CannotScrub(_OPENDOCUMENT)
            raise CannotScrub(_NOT_OFFICE)
        package_rels = _parse_xml(budget.read_xml(src, parts["_rels/.rels"]), _RELS_NS)
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
        content_types = _parse_xml(budget.read_xml(src, parts["[content_types].xml"]),
                                   _CT_NS)
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
                # A fresh entry: no original timestamps (time zone, working hours), no
                # extra fields (owner uid/gid, NTFS times), no comments.
                fresh = zipfile.ZipInfo(info.filename, (1980, 1, 1, 0, 0, 0))
                fresh.compress_type = zipfile.ZIP_DEFLATED
                if name == "[content_types].xml":
                    dst.writestr(fresh, _without(content_types, _CT_NS, lambda o: _norm(
                        o.get("PartName", "")) in dropped))
                elif name.endswith(".rels"):
                    body = budget.read_xml(src, info)
                    dst.writestr(fresh, _rewrite_rels(body, _rels_owner(name), dropped))
                else:
                    # Streamed from one archive into the other: a large part is never
                    # held whole in memory.
                    with dst.open(fresh, "w") as sink:
                        budget.read(src, info, limits.max_entry_bytes, sink.write)
    return out.getvalue(), kind


def _checked_entries(src: zipfile.ZipFile, limits: Limits) -> list[zipfile.ZipInfo]:
    infos = src.infolist()
    # Declared sizes first (the cheap refusal); _Budget counts the real ones.
    if (len(infos) > limits.max_zip_entries
            or sum(i.file_size for i in infos) > limits.max_unpacked_bytes
            or any(i.file_size > limits.max_entry_bytes for i in infos)):
        raise CannotScrub(_BOMB)
    # Overlapping entries (many names for the same compressed bytes) multiply the output
    # of a small file without any entry looking large: no real Office file has them.
    spans = sorted((i.header_offset, i.compress_size) for i in infos)
    if any(start + size > following
           for (start, size), (following, _) in itertools.pairwise(spans)):
        raise CannotScrub(_BOMB)
    # Path traversal, absolute and Windows paths: no part of an Office file looks like that.
    if any(".." in i.filename.split("/") or re.match(r"[/\\]|[A-Za-z]:", i.filename)
           or "\\" in i.filename or "\x00" in i.filename for i in infos):
        raise CannotScrub(_UNSAFE_NAME)
    names = [_norm(i.filename) for i in infos]
    if len(set(names)) != len(names):  # part names are case-insensitive: which one is read?
        raise CannotScrub(_DUPLICATE_NAME)
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
        raise CannotScrub(_UNEXPECTED_XML)
    root = ET.fromstring(body)  # noqa: S314 - DTDs refused above
    # Rels and content types are flat lists; anything else would not survive _without.
    if not root.tag.startswith(f"{{{namespace}}}") or any(
            not child.tag.startswith(f"{{{namespace}}}") or len(child)
            or any(key.startswith("{") for key in child.attrib) for child in root):
        raise CannotScrub(_UNEXPECTED_XML)
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
