"""Draws connector/icon.png: 230 x 230, the brand colour of apiProperties.json, a white glyph
(an account card, an arrow, an SAP-side card). No imaging library needed: `python connector/make_icon.py`."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZE = 230
WHITE = (255, 255, 255)


def brand_colour() -> tuple[int, int, int]:
    colour = json.loads((HERE / "apiProperties.json").read_text(encoding="utf-8"))["properties"]["iconBrandColor"]
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def is_glyph(x: int, y: int) -> bool:
    def frame(left: int, top: int, right: int, bottom: int, width: int = 8) -> bool:
        inside = left <= x <= right and top <= y <= bottom
        core = left + width < x < right - width and top + width < y < bottom - width
        return inside and not core

    def bar(left: int, top: int, right: int, bottom: int) -> bool:
        return left <= x <= right and top <= y <= bottom

    cards = frame(30, 70, 95, 160) or frame(135, 70, 200, 160)
    lines = bar(45, 95, 80, 102) or bar(45, 115, 80, 122) or bar(150, 95, 185, 102) or bar(150, 115, 185, 122)
    shaft = bar(98, 111, 122, 119)
    head = 122 <= x <= 132 and abs(y - 115) <= (132 - x)
    return cards or lines or shaft or head


def png(width: int, height: int, pixel: Callable[[int, int], tuple[int, int, int]]) -> bytes:
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def main() -> None:
    background = brand_colour()
    (HERE / "icon.png").write_bytes(png(SIZE, SIZE, lambda x, y: WHITE if is_glyph(x, y) else background))


if __name__ == "__main__":
    main()
