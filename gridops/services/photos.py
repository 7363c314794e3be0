"""Report photos: checked from their content, re-encoded as JPEG without metadata, with a thumbnail.

    upload ─► size (bytes) ─► type from the content (JPEG / PNG / WebP) ─► pixel count from the
    header (before any decoding) ─► decode ─► EXIF orientation applied ─► re-encode JPEG
    (longest edge ≤ PHOTO_MAX_EDGE, no EXIF / GPS / XMP / comments) + thumbnail ─► MEDIA_ROOT

Why re-encode: a phone photo's EXIF carries the GPS position of whoever took it (often a
citizen's home) and the device's serial; serving the original would leak both. Re-encoding also
means we never serve bytes a client crafted. The original is not kept; its type, size and SHA-256
are recorded for evidence ("this is the photo we received").

Why the pixel check comes first: a PNG of a few hundred bytes can declare 100 000 × 100 000
pixels and need 30 GB to decode (a decompression bomb). Pillow reads the dimensions from the
header on open without decoding, so the count is checked before `load()`; Image.MAX_IMAGE_PIXELS
is set to the same limit as a second guard inside Pillow itself.

Everything is checked for every photo before anything is written (photos_prepare), so a bad
photo stores no report; files are written inside the report's transaction (photos_store) and
removed again by photos_discard if that transaction fails.
"""

import hashlib
import io
import logging
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from geodata.errors import FieldError
from gridops.models import Report, ReportPhoto

logger = logging.getLogger("gridops.intake")

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
JPEG_QUALITY = 85
THUMB_QUALITY = 80
# ISO-BMFF brands of HEIF/HEIC/AVIF files (iPhone default): bytes 4–12 read "ftyp<brand>".
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif")


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo ready to store: re-encoded JPEG bytes, thumbnail bytes, and what we received."""

    image: bytes
    thumbnail: bytes
    width: int
    height: int
    original_type: str
    original_bytes: int
    sha256: str


def _error(n: int, message: str) -> FieldError:
    return FieldError("photos", _("第 %(n)d 张照片：%(message)s") % {"n": n, "message": message})


def _read(upload, n: int) -> bytes:
    """Read at most PHOTO_MAX_BYTES + 1 bytes: the declared size is not trusted."""
    limit = settings.PHOTO_MAX_BYTES
    declared = getattr(upload, "size", None)
    too_big = _("文件过大（上限 %(mb).1f MB）。") % {"mb": limit / 1024 / 1024}
    if declared is not None and declared > limit:
        raise _error(n, too_big)
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise _error(n, too_big)
    if not data:
        raise _error(n, _("文件为空。"))
    return data


def _is_heif(data: bytes) -> bool:
    return data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS


def _open(data: bytes, n: int) -> Image.Image:
    """Open (header only) and check type and pixel count; nothing is decoded yet."""
    max_pixels = settings.PHOTO_MAX_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow's own guard, at the same limit
    too_many = _("像素过多（上限 %(mp)d 万像素），可能是压缩炸弹，已拒收。") % {"mp": max_pixels // 10_000}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _error(n, too_many) from None
    except UnidentifiedImageError:
        if _is_heif(data):
            raise _error(
                n, _("不支持 HEIC/HEIF 格式，请在手机设置中选择“兼容性最佳”或转为 JPEG 后上传。")
            ) from None
        raise _error(n, _("不是可识别的图片，只接受 JPEG、PNG、WebP。")) from None
    except (OSError, ValueError, SyntaxError):
        raise _error(n, _("图片文件已损坏，无法读取。")) from None
    width, height = image.size
    if width < 1 or height < 1:
        raise _error(n, _("图片尺寸无效。"))
    if width * height > max_pixels:
        raise _error(n, too_many)
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """Flatten transparency onto white (JPEG has no alpha) and bring any mode to RGB."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _encode(image: Image.Image, edge: int, quality: int) -> tuple[bytes, tuple[int, int]]:
    out = image.copy()
    out.thumbnail((edge, edge), Image.Resampling.LANCZOS)
    out.info = {}  # no comment / XMP / ICC carried over from the source
    buffer = io.BytesIO()
    out.save(buffer, format="JPEG", quality=quality, optimize=True, exif=b"")
    return buffer.getvalue(), out.size


def _prepare_one(upload, n: int) -> PreparedPhoto:
    data = _read(upload, n)
    image = _open(data, n)
    original_type = image.format or ""
    try:
        image.seek(0)  # animated WebP/PNG: the first frame
        image.load()
        upright = ImageOps.exif_transpose(image)
        rgb = _to_rgb(upright)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise _error(n, _("图片文件已损坏或不完整，无法解码。")) from None
    image_bytes, (width, height) = _encode(rgb, settings.PHOTO_MAX_EDGE, JPEG_QUALITY)
    thumbnail_bytes, _size = _encode(rgb, settings.PHOTO_THUMB_EDGE, THUMB_QUALITY)
    return PreparedPhoto(
        image=image_bytes,
        thumbnail=thumbnail_bytes,
        width=width,
        height=height,
        original_type=original_type.lower(),
        original_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def photos_prepare(*, files) -> list[PreparedPhoto]:
    """Check and re-encode uploaded photos in memory; raises FieldError("photos", ...) on the first
    bad one (numbered from 1, as the user sees them). Already prepared photos pass through."""
    files = list(files)
    if len(files) > settings.PHOTO_MAX_PER_REPORT:
        raise FieldError(
            "photos",
            _("每条上报最多 %(max)d 张照片，收到 %(n)d 张。")
            % {"max": settings.PHOTO_MAX_PER_REPORT, "n": len(files)},
        )
    prepared = []
    for n, upload in enumerate(files, start=1):
        if isinstance(upload, PreparedPhoto):  # checked already (e.g. a camera snapshot)
            prepared.append(upload)
            continue
        try:
            prepared.append(_prepare_one(upload, n))
        except FieldError as exc:
            logger.info("photo refused: %s (%s)", exc.message, getattr(upload, "name", "?"))
            raise
    return prepared


def photos_store(
    *, report: Report, prepared: list[PreparedPhoto], into: list[ReportPhoto] | None = None
) -> list[ReportPhoto]:
    """Write the prepared photos of a saved report (call inside its transaction).

    `into` collects each photo before its files are written, so a caller whose transaction fails
    (even half-way through here) can hand it to photos_discard."""
    stored = into if into is not None else []
    for i, photo in enumerate(prepared, start=1):
        row = ReportPhoto(
            report=report,
            width=photo.width,
            height=photo.height,
            original_type=photo.original_type,
            original_bytes=photo.original_bytes,
            sha256=photo.sha256,
        )
        name = f"{report.pk}-{i}-{photo.sha256[:12]}.jpg"
        # Recorded before the writes: a failure half-way still lets photos_discard find the files.
        stored.append(row)
        row.image.save(name, ContentFile(photo.image), save=False)
        row.thumbnail.save(name, ContentFile(photo.thumbnail), save=False)
    ReportPhoto.objects.bulk_create(stored)  # one INSERT whatever the number of photos
    return stored


def photos_discard(photos: list[ReportPhoto]) -> None:
    """Remove the files of photos whose transaction rolled back (rows are gone, files are not)."""
    for row in photos:
        for field in (row.image, row.thumbnail):
            if field.name:
                try:
                    default_storage.delete(field.name)
                except OSError:
                    logger.warning("could not remove orphan photo file %s", field.name)
