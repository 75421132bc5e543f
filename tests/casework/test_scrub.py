"""casework.scrub against real Pillow, pikepdf and zipfile, on fixtures generated here.

The format handling is called in process (``scrub_formats.clean``, production limits) to
keep this file fast; the child process, its limits and hostile files are tested in
test_scrub_bombs.py, which also runs a few of these fixtures through the real worker.
"""

from __future__ import annotations

import io
import posixpath
import struct
import zipfile
import zlib
from collections.abc import Iterator
from xml.etree import ElementTree as ET

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name, String
from PIL import ExifTags, Image, ImageChops, ImageSequence, ImageStat, PngImagePlugin

from casework.scrub import NOTES, CannotScrub
from casework.scrub_formats import clean
from casework.scrub_limits import PRODUCTION, Limits

OFFLINE = "download the original and handle it offline"


def scrub(data: bytes, filename: str, limits: Limits = PRODUCTION) -> tuple[bytes, str]:
    return clean(data, filename, limits)


def assert_absent(markers: list[bytes], *blobs: bytes) -> None:
    for marker in markers:
        for blob in blobs:
            assert marker not in blob, marker


# --- Images -------------------------------------------------------------------------------


def jpeg_segments(data: bytes) -> list[int]:
    """Marker codes of a JPEG's segments up to the start of scan."""
    assert data[:2] == b"\xff\xd8"
    found, pos = [], 2
    while data[pos + 1] != 0xDA:
        found.append(data[pos + 1])
        pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    return found


def png_chunks(data: bytes) -> list[bytes]:
    found, pos = [], 8
    while pos < len(data):
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        found.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return found


def riff_chunks(data: bytes) -> list[bytes]:
    found, pos = [], 12
    while pos < len(data):
        length = struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        found.append(data[pos : pos + 4])
        pos += 8 + length + (length & 1)
    return found


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def identifying_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Artist] = "Secret Person"
    exif[ExifTags.Base.Make] = "MarkerCamMake"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (59.0, 19.0, 48.0)
    gps[ExifTags.GPS.GPSAreaInformation] = "MarkerGpsArea"
    return exif


IMAGE_MARKERS = [b"Secret Person", b"MarkerCamMake", b"MarkerGpsArea", b"MarkerComment",
                 b"MarkerXmp", b"MarkerIcc", b"MarkerText", b"MarkerItxt"]


def scrub_image(original: bytes, filename: str, scrubbed_name: str) -> bytes:
    """Scrub an image: it comes back as ``scrubbed_name`` without any of the markers."""
    data, name = scrub(original, filename)
    assert name == scrubbed_name
    assert_absent(IMAGE_MARKERS, data)
    return data


def test_jpeg_loses_exif_gps_comment_xmp_and_icc() -> None:
    original = encode(Image.new("RGB", (64, 48), "teal"), "JPEG", exif=identifying_exif(),
                      comment=b"MarkerComment", xmp=b"<x>MarkerXmp</x>",
                      icc_profile=b"MarkerIcc" * 20)
    with Image.open(io.BytesIO(original)) as before:  # the fixture really carries it all
        assert before.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert {"exif", "comment", "xmp", "icc_profile"} <= before.info.keys()

    data = scrub_image(original, "photo.jpg", "photo.scrubbed.jpg")

    with Image.open(io.BytesIO(data)) as after:
        after.load()
        assert after.format == "JPEG"
        assert after.size == (64, 48)
        assert not after.getexif()
        assert not after.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert not {"exif", "comment", "xmp", "icc_profile"} & after.info.keys()
        assert abs(after.getpixel((10, 10))[1] - 128) < 8  # still teal
    # Only the JFIF header Pillow writes: no APP1 (EXIF/XMP), APP2 (ICC), APP13 (IPTC), COM.
    segments = jpeg_segments(data)
    assert [m for m in segments if 0xE0 <= m <= 0xEF or m == 0xFE] == [0xE0]


def test_jpeg_orientation_is_applied_before_exif_goes() -> None:
    image = Image.new("RGB", (40, 20), "red")
    image.paste((0, 0, 255), (20, 0, 40, 20))  # right half blue
    original = encode(image, "JPEG", exif=identifying_exif(orientation=6), quality=95)

    data, _ = scrub(original, "IMG_0001.JPG")

    with Image.open(io.BytesIO(data)) as after:
        assert after.size == (20, 40)  # rotated 90 degrees clockwise, as a viewer shows it
        assert ExifTags.Base.Orientation not in after.getexif()
        top, bottom = after.getpixel((10, 5)), after.getpixel((10, 35))
    assert top[0] > 200 and bottom[2] > 200  # red on top, blue below


def test_png_loses_text_chunks_exif_and_icc_and_keeps_pixels_exactly() -> None:
    image = Image.new("RGBA", (30, 20), (10, 20, 30, 128))
    image.putpixel((3, 4), (255, 0, 0, 255))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Secret Person")
    info.add_text("Comment", "MarkerText", zip=True)  # zTXt: compressed, so check chunk types
    info.add_itxt("Description", "MarkerItxt", lang="en")
    original = encode(image, "PNG", pnginfo=info, exif=identifying_exif(),
                      icc_profile=b"MarkerIcc" * 20)
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP"} <= set(png_chunks(original))

    data = scrub_image(original, "screenshot.png", "screenshot.scrubbed.png")

    assert set(png_chunks(data)) <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
    with Image.open(io.BytesIO(data)) as after:
        assert after.mode == "RGBA"
        assert after.tobytes() == image.tobytes()
        assert not {"Author", "Comment", "Description", "exif", "icc_profile"} & after.info.keys()


def test_palette_png_keeps_palette_and_transparency() -> None:
    image = Image.new("P", (8, 8), 1)
    image.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0])
    image.putpixel((2, 2), 2)
    original = encode(image, "PNG", transparency=0, pnginfo=PngImagePlugin.PngInfo())

    data, _ = scrub(original, "icon.png")

    with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(data)) as after:
        assert after.mode == "P"
        assert after.convert("RGBA").tobytes() == before.convert("RGBA").tobytes()


def test_animated_gif_keeps_frames_and_loses_comment() -> None:
    frames = [Image.new("P", (16, 16), i) for i in range(3)]
    for frame in frames:
        frame.putpalette([0, 0, 0, 255, 0, 0, 0, 0, 255])
    original = encode(frames[0], "GIF", save_all=True, append_images=frames[1:],
                      duration=[100, 200, 300], loop=0, comment=b"MarkerComment")
    assert b"MarkerComment" in original

    data = scrub_image(original, "clip.gif", "clip.scrubbed.gif")

    with Image.open(io.BytesIO(data)) as after:
        assert after.n_frames == 3
        assert "comment" not in after.info
        colours = [f.convert("RGB").getpixel((5, 5)) for f in ImageSequence.Iterator(after)]
    assert colours == [(0, 0, 0), (255, 0, 0), (0, 0, 255)]


def gradient(mode: str) -> Image.Image:
    image = Image.linear_gradient("L").resize((40, 30))
    if mode in ("I;16", "F"):
        return image.convert("I").point(lambda v: v * 200).convert(mode)
    return image.convert(mode)


@pytest.mark.parametrize(
    ("fmt", "mode"),
    [("PNG", "1"), ("PNG", "LA"), ("PNG", "I;16"), ("PNG", "P"), ("GIF", "P"), ("TIFF", "1"),
     ("TIFF", "I;16"), ("TIFF", "CMYK"), ("TIFF", "F"), ("TIFF", "RGBA"), ("WEBP", "RGBA")],
)
def test_lossless_formats_keep_every_mode_pixel_for_pixel(fmt: str, mode: str) -> None:
    original = encode(gradient(mode), fmt, **({"lossless": True} if fmt == "WEBP" else {}))

    data, _ = scrub(original, "image")

    with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(data)) as after:
        assert (after.format, after.mode, after.size) == (before.format, before.mode, before.size)
        assert after.tobytes() == before.tobytes()


@pytest.mark.parametrize("mode", ["L", "RGB", "CMYK"])
def test_jpeg_modes_survive_re_encoding(mode: str) -> None:
    original = encode(gradient(mode), "JPEG", quality=95)

    data, _ = scrub(original, "image.jpeg")

    with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(data)) as after:
        assert after.mode == mode
        assert max(ImageStat.Stat(ImageChops.difference(before, after)).mean) < 2


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_animations_keep_frames_timing_and_loop(fmt: str) -> None:
    frames = [Image.new("RGB", (10, 10), (i * 100, 0, 0)) for i in range(3)]
    original = encode(frames[0], fmt, save_all=True, append_images=frames[1:],
                      duration=[50, 60, 70], loop=2)

    data, _ = scrub(original, "animation")

    timings = []
    with Image.open(io.BytesIO(data)) as after:
        assert after.n_frames == 3
        for frame in ImageSequence.Iterator(after):
            frame.load()
            timings.append(frame.info["duration"])
        assert after.info["loop"] == 2
    assert timings == [50, 60, 70]


def test_webp_loses_exif_and_xmp() -> None:
    image = Image.new("RGB", (24, 24), (200, 100, 50))
    original = encode(image, "WEBP", lossless=True, exif=identifying_exif(),
                      xmp=b"<x>MarkerXmp</x>", icc_profile=b"MarkerIcc" * 20)
    assert {b"EXIF", b"XMP ", b"ICCP"} <= set(riff_chunks(original))

    data = scrub_image(original, "pic.webp", "pic.scrubbed.webp")

    assert not {b"EXIF", b"XMP ", b"ICCP"} & set(riff_chunks(data))
    with Image.open(io.BytesIO(data)) as after:
        assert after.convert("RGB").tobytes() == image.tobytes()  # lossless stays lossless


def test_multipage_tiff_keeps_pages_and_loses_tags() -> None:
    pages = [Image.new("L", (20, 30), 50), Image.new("L", (20, 30), 200)]
    tags = {ExifTags.Base.Artist: "Secret Person", ExifTags.Base.ImageDescription: "MarkerText",
            ExifTags.Base.Make: "MarkerCamMake"}
    original = encode(pages[0], "TIFF", save_all=True, append_images=pages[1:], tiffinfo=tags)
    assert b"Secret Person" in original

    data = scrub_image(original, "scan.tiff", "scan.scrubbed.tiff")

    with Image.open(io.BytesIO(data)) as after:
        assert after.n_frames == 2
        for page, expected in zip(ImageSequence.Iterator(after), (50, 200), strict=True):
            assert page.getpixel((1, 1)) == expected
            assert not set(tags) & set(page.tag_v2)


def bomb_png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b""))
            + chunk(b"IEND", b""))


def test_decompression_bomb_is_refused_not_decoded() -> None:
    with pytest.raises(CannotScrub, match="too large"):
        scrub(bomb_png(100_000, 100_000), "huge.png")


def test_all_frames_count_against_the_pixel_limit() -> None:
    # 3 frames of 64 pixels: each is under a limit of 100, together they are not.
    frames = [Image.new("L", (8, 8), i * 60) for i in range(3)]
    original = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    with pytest.raises(CannotScrub, match="too large"):
        scrub(original, "small-frames.gif", Limits(max_pixels=100))


def test_content_decides_the_type_not_the_name() -> None:
    original = encode(Image.new("RGB", (5, 5)), "PNG", pnginfo=author_pnginfo())

    data, name = scrub(original, "report.pdf")

    assert name == "report.scrubbed.png"
    assert data.startswith(b"\x89PNG")
    assert_absent([b"Secret Person"], data)


def author_pnginfo() -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Secret Person")
    return info


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"this is not a picture at all", "named .jpg but its content is not a JPEG image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20, "could not be read"),
        (b"", "named .jpg but its content is not a JPEG image"),
    ],
    ids=["garbage", "truncated-jpeg", "empty"],
)
def test_garbage_named_jpg_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(CannotScrub, match=reason) as caught:
        scrub(data, "photo.jpg")
    assert str(caught.value).endswith(OFFLINE)


# --- PDF ----------------------------------------------------------------------------------

PDF_MARKERS = [b"Secret Person", b"MarkerXmpCreator", b"MarkerEmbedded", b"MarkerOpenJs",
               b"MarkerNamedJs", b"MarkerPieceInfo", b"MarkerPageXmp", b"MarkerAnnotAuthor",
               b"MarkerAnnotFile", b"MarkerSigner", b"MarkerFileIdent0", b"MarkerLinkJs"]


def identifying_pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 300))
    page = pdf.pages[0].obj
    page.Contents = pdf.make_stream(b"BT 20 20 Td (Visible text) Tj ET")
    pdf.docinfo["/Author"] = "Secret Person"
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        meta["dc:creator"] = ["MarkerXmpCreator"]
    pdf.attachments["evidence.txt"] = pikepdf.AttachedFileSpec(pdf, b"MarkerEmbedded")
    pdf.Root.OpenAction = Dictionary(S=Name.JavaScript, JS=String("app.alert('MarkerOpenJs')"))
    pdf.Root.Names.JavaScript = Dictionary(
        Names=Array([String("init"), Dictionary(S=Name.JavaScript, JS=String("MarkerNamedJs"))]))
    page.PieceInfo = Dictionary(Illustrator=Dictionary(Private=String("MarkerPieceInfo")))
    page.Metadata = pdf.make_stream(b"<x:xmpmeta>MarkerPageXmp</x:xmpmeta>")
    attached = pikepdf.AttachedFileSpec(pdf, b"MarkerAnnotFile").obj
    signature = pdf.make_indirect(Dictionary(
        FT=Name.Sig, T=String("Signature1"), Type=Name.Annot, Subtype=Name.Widget,
        Rect=[0, 0, 0, 0], V=Dictionary(Type=Name.Sig, Name=String("MarkerSigner"))))
    page.Annots = pdf.make_indirect(Array([
        Dictionary(Type=Name.Annot, Subtype=Name.Text, Rect=[10, 10, 30, 30],
                   T=String("MarkerAnnotAuthor"), Contents=String("kept comment")),
        Dictionary(Type=Name.Annot, Subtype=Name.FileAttachment, Rect=[40, 10, 60, 30],
                   FS=attached),
        Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=[70, 10, 90, 30],
                   A=Dictionary(S=Name.JavaScript, JS=String("MarkerLinkJs"))),
        signature,
    ]))
    pdf.Root.AcroForm = Dictionary(Fields=Array([signature]))
    pdf.trailer.ID = Array([String(b"MarkerFileIdent0"), String(b"MarkerFileIdent0")])
    out = io.BytesIO()
    pdf.save(out, compress_streams=False, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    return out.getvalue()


def pdf_everything(data: bytes) -> bytes:
    """The raw file, every object written out, and every stream decoded."""
    parts = [data]
    with pikepdf.open(io.BytesIO(data)) as pdf:
        parts.append(pdf.trailer.unparse(resolved=True))
        for obj in pdf.objects:
            parts.append(obj.unparse(resolved=True))
            if isinstance(obj, pikepdf.Stream):
                parts.append(obj.read_bytes())
    return b"\n".join(parts)


def test_pdf_loses_info_xmp_attachments_scripts_and_authors_but_keeps_pages() -> None:
    original = identifying_pdf()
    everything_before = pdf_everything(original)
    for marker in PDF_MARKERS:  # the fixture really carries every marker
        assert marker in everything_before, marker

    data, name = scrub(original, "minutes.pdf")

    assert name == "minutes.scrubbed.pdf"
    assert_absent(PDF_MARKERS, data, pdf_everything(data))
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert "/Info" not in pdf.trailer
        assert bytes(pdf.trailer.ID[0]) != b"MarkerFileIdent0"
        assert "/Metadata" not in pdf.Root and "/OpenAction" not in pdf.Root
        assert "/EmbeddedFiles" not in pdf.Root.Names and "/JavaScript" not in pdf.Root.Names
        assert len(pdf.attachments) == 0
        assert len(pdf.pages) == 1
        page = pdf.pages[0]
        assert list(page.mediabox) == [0, 0, 200, 300]
        assert b"(Visible text) Tj" in page.Contents.read_bytes()
        assert "/PieceInfo" not in page.obj and "/Metadata" not in page.obj
        subtypes = [annot.Subtype for annot in page.Annots]
        assert subtypes == [Name.Text, Name.Link, Name.Widget]
        comment, _, widget = page.Annots
        assert comment.Contents == "kept comment" and "/T" not in comment
        assert widget.T == "Signature1" and "/V" not in widget  # field name kept, value gone
        assert list(pdf.Root.AcroForm.Fields) == [widget]


def test_pdf_after_leading_junk_and_named_jpg_is_still_a_pdf() -> None:
    data, name = scrub(b"junk before the header\n" + identifying_pdf(), "holiday.jpg")

    assert name == "holiday.scrubbed.pdf"
    assert data.startswith(b"%PDF-")
    assert_absent(PDF_MARKERS, data, pdf_everything(data))


@pytest.mark.parametrize(("user", "owner"), [("user-pw", "owner-pw"), ("", "owner-pw")],
                         ids=["password", "owner-only"])
def test_encrypted_pdf_is_refused(user: str, owner: str) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(user=user, owner=owner))

    with pytest.raises(CannotScrub, match="the PDF is encrypted"):
        scrub(out.getvalue(), "locked.pdf")


def test_damaged_pdf_is_refused() -> None:
    with pytest.raises(CannotScrub, match="looks like a PDF but could not be read"):
        scrub(b"%PDF-1.7\n" + b"\x00garbage" * 50, "broken.pdf")


# --- Office Open XML ----------------------------------------------------------------------

CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
DOCUMENT = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w='
            b'"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r>'
            b"<w:t>Hello</w:t></w:r></w:p></w:body></w:document>")
OFFICE_MARKERS = [b"Secret Person", b"MarkerEditor", b"MarkerCompany", b"MarkerCustomProp",
                  b"MarkerThumb", b"MarkerCustomXml", b"MarkerZipComment"]


def rels(*relationships: tuple[str, str, str]) -> bytes:
    body = "".join(f'<Relationship Id="{i}" Type="{t}" Target="{target}"'
                   + (' TargetMode="External"' if target.startswith("http") else "") + "/>"
                   for i, t, target in relationships)
    return (f'<?xml version="1.0"?>\n<Relationships xmlns="{RELS_NS}">{body}'
            "</Relationships>").encode()


def content_types(main_type: str = WORD_MAIN, main: str = "/word/document.xml") -> bytes:
    overrides = [(main, main_type),
                 ("/docProps/core.xml",
                  "application/vnd.openxmlformats-package.core-properties+xml"),
                 ("/docProps/app.xml",
                  "application/vnd.openxmlformats-officedocument.extended-properties+xml"),
                 ("/docProps/custom.xml",
                  "application/vnd.openxmlformats-officedocument.custom-properties+xml"),
                 ("/customXml/itemProps1.xml",
                  "application/vnd.openxmlformats-officedocument.customXmlProperties+xml")]
    body = "".join(f'<Override PartName="{p}" ContentType="{c}"/>' for p, c in overrides)
    return (f'<?xml version="1.0"?>\n<Types xmlns="{CT_NS}">'
            '<Default Extension="rels" ContentType='
            '"application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Default Extension="jpeg" ContentType="image/jpeg"/>{body}</Types>').encode()


def identifying_docx(main_type: str = WORD_MAIN, extra: dict[str, bytes] | None = None) -> bytes:
    package = f"{R}/"
    parts = {
        "[Content_Types].xml": content_types(main_type),
        "_rels/.rels": rels(
            ("rId1", f"{package}officeDocument", "word/document.xml"),
            ("rId2", "http://schemas.openxmlformats.org/package/2006/relationships/metadata/"
                     "core-properties", "docProps/core.xml"),
            ("rId3", f"{package}extended-properties", "docProps/app.xml"),
            ("rId4", f"{package}custom-properties", "docProps/custom.xml"),
            ("rId5", "http://schemas.openxmlformats.org/package/2006/relationships/metadata/"
                     "thumbnail", "docProps/thumbnail.jpeg")),
        "word/document.xml": DOCUMENT,
        "word/_rels/document.xml.rels": rels(
            ("rId1", f"{package}customXml", "../customXml/item1.xml"),
            ("rId2", f"{package}hyperlink", "https://example.org/kept")),
        "docProps/core.xml": b'<cp:coreProperties xmlns:cp="urn:cp" xmlns:dc="urn:dc">'
                             b"<dc:creator>Secret Person</dc:creator><cp:lastModifiedBy>"
                             b"MarkerEditor</cp:lastModifiedBy></cp:coreProperties>",
        "docProps/app.xml": b"<Properties><Company>MarkerCompany</Company></Properties>",
        "docProps/custom.xml": b"<Properties><property>MarkerCustomProp</property></Properties>",
        "docProps/thumbnail.jpeg": b"\xff\xd8\xffMarkerThumb",
        "customXml/item1.xml": b"<b:Sources xmlns:b='urn:b'>MarkerCustomXml</b:Sources>",
        "customXml/itemProps1.xml": b"<ds:datastoreItem xmlns:ds='urn:ds'/>",
        "customXml/_rels/item1.xml.rels": rels(
            ("rId1", f"{package}customXmlProps", "itemProps1.xml")),
        **(extra or {}),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.comment = b"MarkerZipComment"
        for name, body in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 5, 17, 23, 41, 2))
            info.comment = b"MarkerZipComment"
            archive.writestr(info, body)
    return out.getvalue()


def unzipped(data: bytes) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            yield info.filename, archive.read(info)


def xml(body: bytes) -> ET.Element:
    return ET.fromstring(body)  # noqa: S314 - our own output, already checked for DTDs


def assert_consistent_package(data: bytes) -> None:
    """Every relationship and content-type override points at a part that exists."""
    parts = dict(unzipped(data))
    names = {name.lower() for name in parts}
    types = xml(parts["[Content_Types].xml"])
    assert types.tag == f"{{{CT_NS}}}Types"
    defaults = {d.get("Extension", "").lower() for d in types if d.tag.endswith("Default")}
    overrides = {o.get("PartName", "").lstrip("/").lower() for o in types
                 if o.tag.endswith("Override")}
    assert overrides <= names
    for name, body in parts.items():
        assert name in ("[Content_Types].xml",) or name.lower() in overrides or (
            name.rsplit(".", 1)[-1].lower() in defaults), name
        if not name.endswith(".rels"):
            continue
        assert b"ns0:" not in body  # the default namespace stayed the default
        root = xml(body)
        assert root.tag == f"{{{RELS_NS}}}Relationships"
        folder = posixpath.dirname(posixpath.dirname(name))
        for rel in root:
            if rel.get("TargetMode") != "External":
                target = posixpath.normpath(posixpath.join(folder, rel.get("Target", "")))
                assert target.lstrip("/").lower() in names, (name, target)


def test_docx_loses_properties_thumbnail_and_custom_xml_and_still_holds_together() -> None:
    original = identifying_docx()
    data, name = scrub(original, "report.docx")

    assert name == "report.scrubbed.docx"
    contents = dict(unzipped(data))
    assert_absent(OFFICE_MARKERS, data, *contents.values(), *(n.encode() for n in contents))
    assert set(contents) == {"[Content_Types].xml", "_rels/.rels", "word/document.xml",
                             "word/_rels/document.xml.rels"}
    assert contents["word/document.xml"] == DOCUMENT
    assert_consistent_package(data)
    package_rels = xml(contents["_rels/.rels"])
    assert [rel.get("Target") for rel in package_rels] == ["word/document.xml"]
    document_rels = xml(contents["word/_rels/document.xml.rels"])
    assert [rel.get("Target") for rel in document_rels] == ["https://example.org/kept"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.comment == b""
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.comment == b"" and info.extra == b""


def test_core_properties_found_by_relationship_wherever_they_live() -> None:
    # System.IO.Packaging puts core properties at a generated path, not docProps/core.xml.
    psmdcp = "package/services/metadata/core-properties/4f2a.psmdcp"
    original = identifying_docx(extra={
        "_rels/.rels": rels(
            ("rId1", f"{R}/officeDocument", "/word/document.xml"),
            ("rId2", "http://schemas.openxmlformats.org/package/2006/relationships/metadata/"
                     "core-properties", f"/{psmdcp}")),
        psmdcp: b"<coreProperties><creator>Secret Person</creator></coreProperties>",
    })

    data, _ = scrub(original, "generated.docx")

    contents = dict(unzipped(data))
    assert psmdcp not in contents
    assert_absent([b"Secret Person"], *contents.values())
    assert_consistent_package(data)


@pytest.mark.parametrize(
    ("main_type", "extension"),
    [("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", ".xlsx"),
     ("application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
      ".pptx")],
)
def test_workbooks_and_presentations_get_their_own_extension(main_type: str,
                                                             extension: str) -> None:
    data, name = scrub(identifying_docx(main_type), "named-wrongly.docx")
    assert name == f"named-wrongly.scrubbed{extension}"
    assert_absent(OFFICE_MARKERS, *dict(unzipped(data)).values())


def zip_of(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, body in entries.items():
            archive.writestr(name, body)
    return out.getvalue()


def test_too_many_entries_is_refused() -> None:
    many = {f"word/media/image{i}.png": b"" for i in range(5001)}
    with pytest.raises(CannotScrub, match="zip bomb"):
        scrub(identifying_docx(extra=many), "bomb.docx")


def test_declared_size_over_the_limit_is_refused() -> None:
    data = bytearray(identifying_docx())
    central = data.index(b"PK\x01\x02")  # first central directory entry
    data[central + 24 : central + 28] = struct.pack("<I", 201 * 1024 * 1024)
    with pytest.raises(CannotScrub, match="zip bomb"):
        scrub(bytes(data), "bomb.docx")


@pytest.mark.parametrize("name", ["../evil.xml", "/etc/evil.xml", "word\\..\\evil.xml",
                                  "C:/evil.xml", "word/../../evil.xml"])
def test_unsafe_entry_names_are_refused(name: str) -> None:
    with pytest.raises(CannotScrub, match="unsafe part name"):
        scrub(identifying_docx(extra={name: b"x"}), "report.docx")


def test_duplicate_part_names_are_refused() -> None:
    with pytest.raises(CannotScrub, match="duplicate"):
        scrub(identifying_docx(extra={"WORD/Document.xml": b"<other/>"}), "report.docx")


def test_macro_enabled_document_is_refused() -> None:
    macro = "application/vnd.ms-word.document.macroEnabled.main+xml"
    with pytest.raises(CannotScrub, match="macro-enabled"):
        scrub(identifying_docx(macro), "report.docm")


def test_doctype_in_package_xml_is_refused() -> None:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]>'
              b'<Relationships xmlns="' + RELS_NS.encode() + b'">&a;</Relationships>')
    with pytest.raises(CannotScrub, match="unexpected XML"):
        scrub(identifying_docx(extra={"_rels/.rels": laughs}), "report.docx")


@pytest.mark.parametrize(
    ("data", "filename", "reason"),
    [
        (b"hello", "notes.xyz", f"files of type .xyz cannot be scrubbed; {OFFLINE}"),
        (b"plain text\n", "notes.txt", f"files of type .txt cannot be scrubbed; {OFFLINE}"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 16, "clip.mp4",
         f"video, audio and HEIC/AVIF image files cannot be scrubbed; {OFFLINE}"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 32, "old.doc",
         f"old-style Office files (.doc, .xls, .ppt) cannot be scrubbed; {OFFLINE}"),
        (zip_of({"mimetype": b"application/vnd.oasis.opendocument.text"}), "text.odt",
         f"OpenDocument and EPUB files cannot be scrubbed; {OFFLINE}"),
        (zip_of({"a.txt": b"x"}), "bundle.zip", "only Word, Excel and PowerPoint files"),
        (b"PK\x03\x04 not really a zip", "broken.docx",
         "looks like an Office document but could not be read"),
    ],
    ids=["unknown", "text", "mp4", "ole", "odt", "zip", "broken-zip"],
)
def test_other_types_are_refused_with_a_reason(data: bytes, filename: str, reason: str) -> None:
    with pytest.raises(CannotScrub) as caught:
        scrub(data, filename)
    assert reason in str(caught.value)
    assert str(caught.value).endswith(OFFLINE)


def test_notes_cover_every_type_that_can_be_scrubbed() -> None:
    for extension in (".jpg", ".png", ".gif", ".webp", ".tif", ".pdf", ".docx", ".xlsx",
                      ".pptx"):
        assert "Removed:" in NOTES[extension] and "Not removed:" in NOTES[extension]
    assert "author" in NOTES[".pdf"].lower() and "comments" in NOTES[".docx"]
