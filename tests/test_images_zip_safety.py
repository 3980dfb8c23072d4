"""Image-zip import refuses zip attacks (slip, symlinks, bombs, limits) before extraction."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest
from PIL import Image

from core.data.images import ZipLimits, import_image_zip
from core.errors import BadInput
from tests.test_images import files_under, img_bytes, make_zip, two_classes


@pytest.fixture
def no_reads(monkeypatch):
    """Fail the test if any entry is decompressed: the checks must run before extraction."""

    real_open = zipfile.ZipFile.open

    def refuse_reads(self, name, mode="r", *args, **kwargs):
        if mode == "r":
            raise AssertionError("an entry was read before the zip was refused")
        return real_open(self, name, mode, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", refuse_reads)


@pytest.mark.parametrize(
    "name", ["../evil.png", "/abs.png", "cats/../../evil.png", "C:/evil.png", "..\\evil.png"]
)
def test_zip_slip_refused_before_writing(tmp_path, no_reads, name):
    dest = tmp_path / "ds"
    data = make_zip({**two_classes(), name: img_bytes()})
    with pytest.raises(BadInput, match="outside the dataset folder") as exc:
        import_image_zip(data, dest)
    assert f"'{name}'" in str(exc.value)
    assert not dest.exists()
    assert files_under(tmp_path) == []


def test_symlink_entry_refused(tmp_path, no_reads):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in two_classes().items():
            zf.writestr(name, data)
        link = zipfile.ZipInfo("cats/link.png")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(BadInput, match="'cats/link.png' is a symbolic link"):
        import_image_zip(buf.getvalue(), tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


def test_zip_bomb_refused_before_extraction(tmp_path, no_reads):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in two_classes().items():
            zf.writestr(name, data)
        zeros = bytes(1024**2)
        with zf.open("cats/bomb.png", "w") as fh:  # streamed: 50 MB never held in memory
            for _ in range(50):
                fh.write(zeros)
    assert len(buf.getvalue()) < 1024**2
    with pytest.raises(BadInput, match=r"'cats/bomb.png' would inflate to 50.0 MB \(ratio \d+:1\)"):
        import_image_zip(buf.getvalue(), tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


def test_overall_ratio_refused_when_each_entry_is_small(tmp_path, no_reads):
    zeros = bytes(600 * 1024)  # under the 1 MiB floor of the per-entry rule
    entries = {f"{c}/{i}.png": zeros for c in ("cats", "dogs") for i in range(2)}
    with pytest.raises(BadInput, match=r"the zip would inflate to 2\.3 MB \(ratio \d+:1\)"):
        import_image_zip(make_zip(entries), tmp_path / "ds")


def test_overlapping_entries_refused(tmp_path, no_reads):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("cats/a.png", img_bytes(size=(64, 64)))
        first = zf.infolist()[0]
        for i in range(10):  # central-directory entries that all point at cats/a.png's data
            zf.writestr(f"dogs/{i}.png", b"")
            dup = zf.infolist()[-1]
            for attr in ("header_offset", "compress_size", "file_size", "CRC"):
                setattr(dup, attr, getattr(first, attr))
    with pytest.raises(BadInput, match="entries overlap"):
        import_image_zip(buf.getvalue(), tmp_path / "ds")


def test_size_and_entry_limits(tmp_path, no_reads):
    data = make_zip({**two_classes(), "dogs/c.png": img_bytes(size=(32, 32))})
    with pytest.raises(BadInput, match="over the limit of 1000 bytes"):
        import_image_zip(data, tmp_path / "ds", ZipLimits(max_total_bytes=1000))
    with pytest.raises(BadInput, match="the zip has 3 entries, over the limit of 2"):
        import_image_zip(data, tmp_path / "ds", ZipLimits(max_entries=2))
    assert not (tmp_path / "ds").exists()


def test_header_understating_size_refused(tmp_path, monkeypatch):
    # zipfile itself stops at the declared size; this checks our own guard does too.
    data = make_zip(two_classes())

    def generous_open(self, info, *args, **kwargs):
        return io.BytesIO(bytes(info.file_size + 10))

    monkeypatch.setattr(zipfile.ZipFile, "open", generous_open)
    with pytest.raises(BadInput, match="holds more data than its header declares"):
        import_image_zip(data, tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


def test_password_protected_refused(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in two_classes().items():
            zf.writestr(name, data)
        zf.infolist()[-1].flag_bits |= 0x1  # the central directory now says "encrypted"
    with pytest.raises(BadInput, match="'dogs/b.png' is password-protected"):
        import_image_zip(buf.getvalue(), tmp_path / "ds")


def test_pixel_limit_skips_large_images(tmp_path):
    entries = {
        "cats/small.png": img_bytes(size=(5, 5)),
        "cats/warned.png": img_bytes(size=(11, 11)),  # 121 px: Pillow only warns
        "cats/huge.png": img_bytes(size=(20, 20)),  # 400 px: Pillow raises
        "dogs/small.png": img_bytes(size=(5, 5)),
    }
    before = Image.MAX_IMAGE_PIXELS
    result = import_image_zip(make_zip(entries), tmp_path / "ds", ZipLimits(max_image_pixels=100))
    assert Image.MAX_IMAGE_PIXELS == before  # the global is restored
    reasons = dict(result.skipped)
    assert set(reasons) == {"cats/warned.png", "cats/huge.png"}
    assert all(r.startswith("image too large") for r in reasons.values())
    assert len(result.index) == 2
