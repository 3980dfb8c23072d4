"""Rebuild the derived corpus files from the real ones beside them (see README.md).

Run from the repository root: `.venv/bin/python tests/corpus/derive.py`. Each derived file keeps
a real file's values and changes only how they are written (encoding, delimiter, decimal mark,
thousands separators, missing markers, trailing delimiters), as European spreadsheets, Excel
and other tools write them; the image zips copy the layouts macOS Finder and Windows Explorer
produce, with tiny PNGs drawn here.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from PIL import Image

HERE = Path(__file__).parent


def rows(name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO((HERE / name).read_text(encoding="utf-8-sig"))))


def write(name: str, lines: list[str], encoding: str = "utf-8", newline: str = "\n") -> None:
    (HERE / name).write_bytes((newline.join(lines) + newline).encode(encoding))


def comma(value: str) -> str:
    return value.replace(".", ",")


def main() -> None:
    # penguins as a German Excel would save them: ';', decimal comma, '?' for missing, Latin-1
    pen = rows("sb_penguins.csv")
    header = ["Art", "Insel", "Schnabellänge_mm", "Schnabeltiefe_mm", "Flosse_mm", "Masse_g", "sex"]
    body = [";".join(comma(v) if v else "?" for v in r) for r in pen[1:]]
    write("eu_penguins_latin1.csv", [";".join(header), *body], "latin-1", "\r\n")
    # the Dow Jones series, cp1252 (the euro sign), ';' and decimal commas
    dow = rows("sb_dowjones.csv")
    write(
        "eu_dowjones_cp1252.csv",
        ["Datum;Preis (€)", *[f"{d};{comma(p)}" for d, p in dow[1:]]],
        "cp1252",
        "\r\n",
    )
    # sunspots saved by Excel as "CSV UTF-8": a byte-order mark
    write("bom_sunspots.csv", (HERE / "sm_sunspots.csv").read_text().splitlines(), "utf-8-sig")
    # macrodata with thousands separators, quoted (as a US spreadsheet exports them)
    macro = rows("sm_macrodata.csv")
    out = [",".join(macro[0])]
    for r in macro[1:]:
        out.append(",".join(f'"{float(v):,.3f}"' if float(v) >= 1000 else v for v in r))
    write("thousands_macrodata.csv", out)
    # Engel with a delimiter at the end of every line, header included
    write("trailing_engel.csv", [",".join(r) + "," for r in rows("sm_engel.csv")])
    # Nile with '-' and 'N/A' where values were removed
    nile = rows("sm_nile.csv")
    marked = [",".join(nile[0])]
    for i, (year, volume) in enumerate(nile[1:]):
        marked.append(f"{year},{'-' if i % 17 == 5 else 'N/A' if i % 23 == 7 else volume}")
    write("markers_nile.csv", marked)
    image_zips()


def png(shade: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (12, 12), (shade, 255 - shade, 90)).save(buf, format="PNG")
    return buf.getvalue()


def image_zips() -> None:
    # macOS Finder "Compress": AppleDouble files under __MACOSX/, .DS_Store, folder entries
    with zipfile.ZipFile(HERE / "macos_photos.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("photos/", b"")
        zf.writestr("photos/.DS_Store", b"\0\0\0\1Bud1" + bytes(64))
        for label, base in (("cats", 10), ("dogs", 200)):
            zf.writestr(f"photos/{label}/", b"")
            for i in range(3):
                zf.writestr(f"photos/{label}/IMG_{i:04d}.png", png(base + 10 * i))
                zf.writestr(f"__MACOSX/photos/{label}/._IMG_{i:04d}.png", b"\0\5\26\7" + bytes(80))
    # Windows Explorer "Send to > Compressed folder" (and older tools): backslash separators,
    # Thumbs.db and desktop.ini beside the images
    with zipfile.ZipFile(HERE / "windows_photos.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for label, base in (("cats", 30), ("dogs", 170), ("birds", 100)):
            for i in range(2):
                zf.writestr(f"photos\\{label}\\Photo {i + 1}.PNG", png(base + 15 * i))
            zf.writestr(f"photos\\{label}\\Thumbs.db", bytes(128))
        zf.writestr("photos\\desktop.ini", b"[.ShellClassInfo]\r\n")


if __name__ == "__main__":
    main()
