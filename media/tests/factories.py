"""Test images made with Pillow: real encoders, real EXIF (with GPS and an
orientation tag), so the pipeline is tested against what cameras produce."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageDraw

ORIENTATION = 0x0112
GPS_IFD = 0x8825
MAKE = 0x010F


def _picture(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """A gradient with a marker in the top-left corner, so orientation can be checked."""
    img = Image.linear_gradient("L").resize((width, height)).convert(mode)
    draw = ImageDraw.Draw(img)
    fill = (255, 0, 0, 255) if mode == "RGBA" else (255, 0, 0)
    draw.rectangle((0, 0, max(1, width // 4), max(1, height // 4)), fill=fill)
    return img


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[MAKE] = "NexusCam"
    exif[ORIENTATION] = orientation
    # GPSLatitudeRef, GPSLatitude, GPSLongitudeRef, GPSLongitude
    exif[GPS_IFD] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
    return exif


def jpeg_bytes(width: int = 640, height: int = 480, *, orientation: int = 1, quality: int = 90) -> bytes:
    out = io.BytesIO()
    _picture(width, height).save(out, format="JPEG", quality=quality, exif=exif_with_gps(orientation))
    return out.getvalue()


def png_bytes(width: int = 640, height: int = 480, *, alpha: bool = False) -> bytes:
    out = io.BytesIO()
    img = _picture(width, height, "RGBA" if alpha else "RGB")
    if alpha:
        img.putalpha(Image.linear_gradient("L").resize((width, height)))  # really transparent
    img.save(out, format="PNG")
    return out.getvalue()


def gif_bytes(width: int = 320, height: int = 240, frames: int = 3) -> bytes:
    images = [_picture(width, height).rotate(i * 30).convert("P") for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def webp_bytes(width: int = 640, height: int = 480) -> bytes:
    out = io.BytesIO()
    _picture(width, height).save(out, format="WEBP", quality=80, exif=exif_with_gps(6))
    return out.getvalue()


def png_bomb(width: int = 10_000, height: int = 10_000) -> bytes:
    """A valid PNG of width x height black 1-bit pixels: a few kilobytes whose
    header claims (and whose data really inflates to) a huge image."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    deflate = zlib.compressobj(9)
    idat = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def noisy_jpeg_bytes(width: int = 4000, height: int = 3000) -> bytes:
    """A camera-like JPEG (noise does not compress): for size and timing measurements."""
    img = Image.merge("RGB", [Image.effect_noise((width, height), 40 + 10 * i) for i in range(3)])
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=90, exif=exif_with_gps(6))
    return out.getvalue()
