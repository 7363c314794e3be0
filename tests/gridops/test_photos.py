"""Report photos: checked by content, re-encoded without EXIF/GPS, bombs refused before decoding."""

import hashlib
import io

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from geodata.errors import FieldError
from gridops.models import OutboxEvent, Report, ReportPhoto
from gridops.services.photos import photos_prepare
from gridops.services.reports import ReportInput, report_submit
from tests.data import images


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_jpeg_is_reencoded_upright_without_exif_gps_or_comment(tiny_county, settings):
    original = images.jpeg_bytes(40, 20, gps=True, orientation=6)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the fixture does carry GPS

    report, _ = report_submit(
        data=ReportInput(source="citizen", lon=121.005, lat=29.005),
        photos=[images.upload("IMG_0001.jpg", original)],
    )

    photo = report.photos.get()
    with default_storage.open(photo.image.name) as f:
        stored = Image.open(io.BytesIO(f.read()))
        stored.load()
    assert stored.format == "JPEG"
    assert not stored.getexif()  # no EXIF at all: no GPS, no make, no orientation
    assert "exif" not in stored.info and "comment" not in stored.info and "xmp" not in stored.info
    assert stored.size == (20, 40)  # orientation 6 applied: the stored pixels are upright
    assert (photo.width, photo.height) == (20, 40)
    assert photo.original_type == "jpeg"
    assert photo.original_bytes == len(original)
    assert photo.sha256 == hashlib.sha256(original).hexdigest()
    assert str(settings.MEDIA_ROOT) in default_storage.path(photo.image.name)


def test_long_edge_and_thumbnail_are_bounded(tiny_county, settings):
    settings.PHOTO_MAX_EDGE = 100
    settings.PHOTO_THUMB_EDGE = 32
    report, _ = report_submit(
        data=ReportInput(source="citizen", lon=121.005, lat=29.005),
        photos=[images.upload("wide.png", images.png_bytes(300, 150), "image/png")],
    )
    photo = report.photos.get()
    assert (photo.width, photo.height) == (100, 50)
    with default_storage.open(photo.thumbnail.name) as f:
        thumb = Image.open(io.BytesIO(f.read()))
    assert thumb.format == "JPEG"
    assert max(thumb.size) <= 32
    assert thumb.size == (32, 16)


@pytest.mark.parametrize(
    ("maker", "name"),
    [(lambda: images.png_bytes(20, 10, alpha=True), "a.png"), (images.webp_bytes, "b.webp")],
)
def test_png_with_alpha_and_webp_are_accepted_as_jpeg(maker, name):
    (prepared,) = photos_prepare(files=[images.upload(name, maker(), "application/octet-stream")])
    assert Image.open(io.BytesIO(prepared.image)).format == "JPEG"


def test_type_comes_from_the_content_not_the_name():
    with pytest.raises(FieldError) as err:
        photos_prepare(files=[images.upload("photo.jpg", "这不是照片".encode() * 10, "image/jpeg")])
    assert err.value.field == "photos"
    assert "第 1 张照片" in err.value.message and "JPEG" in err.value.message


def test_heic_is_refused_saying_so():
    with pytest.raises(FieldError) as err:
        photos_prepare(files=[images.upload("IMG.HEIC", images.heic_header(), "image/heic")])
    assert "HEIC" in err.value.message


def test_decompression_bomb_is_refused_from_its_header_without_decoding(settings):
    settings.PHOTO_MAX_PIXELS = 40_000_000
    bomb = images.png_bomb(100_000, 100_000)  # 10 gigapixels in ~100 bytes
    assert len(bomb) < 200
    with pytest.raises(FieldError) as err:
        photos_prepare(files=[images.upload("ok.png", bomb, "image/png")])
    assert "像素过多" in err.value.message


def test_just_over_the_pixel_limit_is_refused_too(settings):
    """Between the limit and 2× the limit Pillow only warns; our own check refuses."""
    settings.PHOTO_MAX_PIXELS = 10_000
    with pytest.raises(FieldError) as err:
        photos_prepare(files=[images.upload("x.png", images.png_bomb(101, 100), "image/png")])
    assert "像素过多" in err.value.message


def test_oversized_bytes_are_refused_whatever_the_declared_size(settings):
    settings.PHOTO_MAX_BYTES = 1000
    big = images.png_bytes(200, 200)
    assert len(big) > 0
    big = big + b"\x00" * 1000
    with pytest.raises(FieldError) as err:
        photos_prepare(files=[images.upload("big.png", big, "image/png")])
    assert "文件过大" in err.value.message


def test_too_many_photos(settings):
    settings.PHOTO_MAX_PER_REPORT = 2
    files = [images.upload(f"{i}.png", images.png_bytes()) for i in range(3)]
    with pytest.raises(FieldError) as err:
        photos_prepare(files=files)
    assert "最多 2 张" in err.value.message


def test_problem_names_the_photo_by_its_position():
    files = [images.upload("1.png", images.png_bytes()), images.upload("2.jpg", b"GIF89a not really")]
    with pytest.raises(FieldError) as err:
        photos_prepare(files=files)
    assert "第 2 张照片" in err.value.message


def test_truncated_image_is_refused():
    data = images.jpeg_bytes(200, 200, gps=False, orientation=None)
    with pytest.raises(FieldError) as err:
        photos_prepare(files=[images.upload("cut.jpg", data[: len(data) // 2])])
    assert err.value.field == "photos"


def test_a_bad_photo_stores_no_report_no_event_no_file(tiny_county, settings):
    good = images.upload("good.jpg", images.jpeg_bytes())
    bad = images.upload("bad.jpg", b"hello")
    with pytest.raises(FieldError):
        report_submit(data=ReportInput(source="citizen", lon=121.005, lat=29.005), photos=[good, bad])
    assert Report.objects.count() == 0
    assert ReportPhoto.objects.count() == 0
    assert OutboxEvent.objects.count() == 0
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))
