"""Image-zip import: labels, modes, junk, corrupt files (zip attacks: test_images_zip_safety)."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from core.data.images import ImageImport, import_image_zip
from core.errors import BadInput

_rng = np.random.default_rng(0)


def img_bytes(mode: str = "RGB", size: tuple[int, int] = (8, 6), fmt: str = "PNG", **kw) -> bytes:
    """A small image of random pixels (so no two calls collapse as duplicates)."""
    w, h = size
    rgb = Image.fromarray(_rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    img = rgb.convert(mode) if mode not in ("P",) else rgb.quantize(16)
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def make_zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)  # a str name takes the archive's compression
    return buf.getvalue()


def two_classes() -> dict[str, bytes]:
    return {"cats/a.png": img_bytes(), "dogs/b.png": img_bytes()}


def files_under(path: Path) -> list[str]:
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))


def test_nested_folders_modes_and_sizes(tmp_path):
    # 16-bit grey at two levels: Pillow's plain convert would clip both to white.
    grey16 = np.array([[65535, 32896]], dtype=np.uint16)
    buf = io.BytesIO()
    Image.fromarray(grey16).save(buf, format="PNG")
    rgba = Image.new("RGBA", (7, 5), (255, 0, 0, 0))  # fully transparent, but red underneath
    rgba.putpixel((0, 0), (255, 0, 0, 255))
    rgba_buf = io.BytesIO()
    rgba.save(rgba_buf, format="PNG")
    entries = {
        "data/": b"",
        "data/train/cats/l.png": img_bytes("L", (10, 20)),
        "data/train/cats/rgba.PNG": rgba_buf.getvalue(),
        "data/train/cats/more/deep/one.png": img_bytes("1", (9, 9)),
        "data/train/dogs/p.png": img_bytes("P", (3, 4)),
        "data/train/dogs/cmyk.JPG": img_bytes("CMYK", (16, 8), "JPEG"),
        "data/train/dogs/rgb.jpeg": img_bytes("RGB", (12, 11), "JPEG"),
        "data/train/dogs/la.png": img_bytes("LA", (4, 4)),
        "data/train/dogs/grey16.png": buf.getvalue(),
    }
    dest = tmp_path / "ds"
    result = import_image_zip(make_zip(entries), dest)

    assert isinstance(result, ImageImport)
    assert result.classes == ["cats", "dogs"]
    assert result.skipped == [] and result.ignored == 0
    idx = result.index
    assert list(idx.columns) == ["path", "label", "width", "height", "source_mode", "source_entry"]
    assert idx["width"].dtype == "int64" and idx["height"].dtype == "int64"
    assert all(pd.api.types.is_string_dtype(idx[c]) for c in ("path", "label", "source_mode"))
    assert list(zip(idx["label"], idx["path"], strict=True)) == sorted(
        zip(idx["label"], idx["path"], strict=True)
    )
    got = {
        r.source_entry.rsplit("/", 1)[1]: (r.label, r.width, r.height, r.source_mode)
        for r in idx.itertuples()
    }
    assert got == {
        "l.png": ("cats", 10, 20, "L"),
        "rgba.PNG": ("cats", 7, 5, "RGBA"),
        "one.png": ("cats", 9, 9, "1"),  # sub-folders roll up into the class
        "p.png": ("dogs", 3, 4, "P"),
        "cmyk.JPG": ("dogs", 16, 8, "CMYK"),
        "rgb.jpeg": ("dogs", 12, 11, "RGB"),
        "la.png": ("dogs", 4, 4, "LA"),
        "grey16.png": ("dogs", 2, 1, "I;16"),
    }
    for row in idx.itertuples():
        assert row.path.startswith(f"images/{row.label}/") and row.path.endswith(".png")
        with Image.open(dest / row.path) as out:
            assert (out.format, out.mode, out.size) == ("PNG", "RGB", (row.width, row.height))
    by_name = {r.source_entry.rsplit("/", 1)[1]: dest / r.path for r in idx.itertuples()}
    with Image.open(by_name["rgba.PNG"]) as out:
        assert out.getpixel((0, 0)) == (255, 0, 0)
        assert out.getpixel((1, 1)) == (255, 255, 255)  # alpha composited on white
    with Image.open(by_name["grey16.png"]) as out:
        assert out.getpixel((0, 0)) == (255, 255, 255)
        assert out.getpixel((1, 0)) == (128, 128, 128)
    # Only the class folders and their images: no staging folder left behind.
    assert {p.name for p in dest.iterdir()} == {"images"}
    assert len(list((dest / "images").rglob("*.png"))) == len(idx)


def test_exif_orientation_applied(tmp_path):
    img = Image.fromarray(_rng.integers(0, 256, (4, 10, 3), dtype=np.uint8))  # 10 wide, 4 high
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    entries = {"cats/phone.jpg": buf.getvalue(), "dogs/b.png": img_bytes()}
    row = import_image_zip(make_zip(entries), tmp_path / "ds").index.iloc[0]
    assert (row.width, row.height) == (4, 10)


def test_junk_ignored_and_counted(tmp_path):
    entries = {
        "cats/": b"",
        "__MACOSX/": b"",
        "__MACOSX/cats/._a.png": b"\x00\x05\x16\x07 resource fork",
        "__MACOSX/cats/real_looking.png": img_bytes(),
        "cats/._a.png": b"\x00\x05\x16\x07",
        ".DS_Store": b"junk",
        "cats/.DS_Store": b"junk",
        "Thumbs.db": b"junk",
        "dogs/desktop.ini": b"[.ShellClassInfo]",
        "README.txt": b"my dataset",
        "dogs/labels.csv": b"a,b",
        ".hidden/x.png": img_bytes(),
        "cats/.secret.png": img_bytes(),
        **two_classes(),
    }
    result = import_image_zip(make_zip(entries), tmp_path / "ds")
    assert result.classes == ["cats", "dogs"]
    assert len(result.index) == 2
    assert result.ignored == 11  # folders are not counted
    assert result.skipped == []


def test_corrupt_and_unsupported_images_skipped(tmp_path):
    whole = img_bytes(size=(64, 64))
    gif = img_bytes("P", (5, 5), "GIF")
    entries = {
        "cats/noise.png": _rng.integers(0, 256, 500, dtype=np.uint8).tobytes(),
        "cats/truncated.png": whole[: len(whole) * 6 // 10],
        "dogs/anim.gif": gif,
        "dogs/gif_named.png": gif,
        **two_classes(),
    }
    result = import_image_zip(make_zip(entries), tmp_path / "ds")
    assert result.classes == ["cats", "dogs"]
    assert sorted(result.index["source_entry"]) == ["cats/a.png", "dogs/b.png"]
    reasons = dict(result.skipped)
    assert set(reasons) == {"cats/noise.png", "cats/truncated.png", "dogs/anim.gif",
                            "dogs/gif_named.png"}  # fmt: skip
    assert reasons["cats/noise.png"].startswith("cannot decode image")
    assert reasons["cats/truncated.png"].startswith("cannot decode image")
    assert reasons["dogs/anim.gif"] == "unsupported format GIF"
    assert reasons["dogs/gif_named.png"] == "unsupported format GIF"  # content decides, not name


def test_damaged_zip_entry_skipped(tmp_path):
    good = img_bytes(size=(16, 16))
    data = bytearray(make_zip({**two_classes(), "cats/c.png": good}, zipfile.ZIP_STORED))
    at = bytes(data).index(good) + len(good) // 2
    data[at] ^= 0xFF  # CRC no longer matches
    result = import_image_zip(bytes(data), tmp_path / "ds")
    assert dict(result.skipped)["cats/c.png"].startswith("damaged zip entry")
    assert len(result.index) == 2


@pytest.mark.parametrize(
    ("entries", "folder"),
    [
        ({"cats/a.png": b"", "cats/b.png": b""}, "cats"),
        ({"data/x/cats/a.png": b"", "data/x/cats/b.png": b""}, "cats"),
        ({"data/cats/a.png": b"", "data/loose.png": b""}, "cats"),
    ],
)
def test_single_class_refused_and_nothing_left(tmp_path, entries, folder):
    entries = {name: img_bytes() for name in entries}
    dest = tmp_path / "new" / "ds"
    with pytest.raises(BadInput, match=f"only one class folder '{folder}': .* at least two"):
        import_image_zip(make_zip(entries), dest)
    assert files_under(tmp_path) == []


def test_images_not_in_folders(tmp_path):
    with pytest.raises(BadInput, match="not inside class folders"):
        import_image_zip(make_zip({"a.png": img_bytes(), "b.png": img_bytes()}), tmp_path / "d")
    names = ["data/loose.png", "data/cats/a.png", "data/dogs/b.png"]
    mixed = {name: img_bytes() for name in names}
    result = import_image_zip(make_zip(mixed), tmp_path / "ds")
    assert result.skipped == [("data/loose.png", "not inside a class folder")]
    assert result.classes == ["cats", "dogs"]


def test_split_folders_are_merged(tmp_path):
    entries = {f"{split}/{c}/{i}.png": img_bytes() for split in ("train", "test")
               for c in ("cats", "dogs") for i in range(2)}  # fmt: skip
    result = import_image_zip(make_zip(entries), tmp_path / "ds")
    assert result.classes == ["cats", "dogs"]
    assert len(result.index) == 8


def test_no_images(tmp_path):
    entries = {"cats/notes.txt": b"x", "dogs/bad.png": b"not an image"}
    with pytest.raises(BadInput, match=r"no PNG or JPEG images found in the zip \(1 unreadable"):
        import_image_zip(make_zip(entries), tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


def test_duplicates_collapse(tmp_path):
    same = img_bytes()
    entries = {"cats/a.png": same, "cats/copy.png": same, "dogs/a.png": same, "dogs/b.png": same}
    dest = tmp_path / "ds"
    result = import_image_zip(make_zip(entries), dest)
    assert list(result.index["label"]) == ["cats", "dogs"]
    assert list(result.index["source_entry"]) == ["cats/a.png", "dogs/a.png"]
    assert result.skipped == [
        ("cats/copy.png", "duplicate of 'cats/a.png'"),
        ("dogs/b.png", "duplicate of 'dogs/a.png'"),
    ]
    assert len(list((dest / "images").rglob("*.png"))) == 2


def test_not_a_zip(tmp_path):
    with pytest.raises(BadInput, match="the uploaded file is not a zip archive"):
        import_image_zip(b"name,value\n1,2\n", tmp_path / "ds")
    text = tmp_path / "data.zip"
    text.write_text("hello")
    with pytest.raises(BadInput, match="'data.zip' is not a zip archive"):
        import_image_zip(text, tmp_path / "ds")
    with pytest.raises(BadInput, match="was not found"):
        import_image_zip(tmp_path / "missing.zip", tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


def test_bytes_path_and_str_sources_agree(tmp_path):
    data = make_zip({**two_classes(), "dogs/UPPER.JPEG": img_bytes(fmt="JPEG")})
    archive = tmp_path / "upload.zip"
    archive.write_bytes(data)
    results = [
        import_image_zip(src, tmp_path / name)
        for src, name in ((data, "a"), (archive, "b"), (str(archive), "c"))
    ]
    for r in results[1:]:
        pd.testing.assert_frame_equal(r.index, results[0].index)
    assert "dogs/UPPER.JPEG" in set(results[0].index["source_entry"])


def test_reimport_into_existing_folder_keeps_old_files_on_failure(tmp_path, monkeypatch):
    dest = tmp_path / "ds"
    import_image_zip(make_zip(two_classes()), dest)
    (dest / "notes.md").write_text("mine")
    before = files_under(dest)

    real_link = os.link
    calls = []

    def link_once(src, dst):
        calls.append(dst)
        if len(calls) > 1:
            raise OSError("disk full")
        real_link(src, dst)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    # Fail while placing files, after the first new one was written.
    monkeypatch.setattr("core.data.images.os.link", link_once)
    monkeypatch.setattr("core.data.images.shutil.copyfile", broken)
    with pytest.raises(OSError, match="disk full"):
        import_image_zip(make_zip({**two_classes(), "birds/c.png": img_bytes()}), dest)
    assert len(calls) == 2
    assert files_under(dest) == before
