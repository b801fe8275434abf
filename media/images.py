"""Pure image functions (no database, no storage): sniff and inspect an upload,
and render the variants. Pillow only ever sees bytes whose type we sniffed
ourselves, and only with that one decoder enabled."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

# (magic prefix, Pillow format, file extension). WebP is "RIFF....WEBP".
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xd8\xff", "JPEG", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "PNG", "png"),
    (b"GIF87a", "GIF", "gif"),
    (b"GIF89a", "GIF", "gif"),
)
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}

# name -> (longest side, square crop?)
VARIANT_SPECS: dict[str, tuple[int, bool]] = {
    "large": (2048, False),
    "medium": (1024, False),
    "small": (480, False),
    "thumb": (150, True),
}
JPEG_QUALITY = 85
WEBP_QUALITY = 80
# EXIF orientations 5-8 rotate by 90 degrees: width and height swap.
_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}


class ImageRejected(Exception):
    """The bytes are not an image we accept; the message is for the client."""


@dataclass(frozen=True)
class ImageInfo:
    format: str  # JPEG | PNG | GIF | WEBP
    width: int  # as displayed (EXIF orientation applied)
    height: int

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


@dataclass(frozen=True)
class Variant:
    name: str
    width: int
    height: int
    jpeg: bytes
    webp: bytes


def image_sniff(head: bytes) -> str:
    """The Pillow format named by the file's magic bytes, whatever its name or
    Content-Type says."""
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    for magic, fmt, _ in _SIGNATURES:
        if head.startswith(magic):
            return fmt
    raise ImageRejected("Unsupported file type: send a JPEG, PNG, GIF or WebP image.")


def _open(data: bytes, fmt: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own (higher) limit; we apply ours below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=[fmt])
    except Image.DecompressionBombError as exc:
        raise ImageRejected(f"Image has too many pixels ({exc}).") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(f"Corrupt or unreadable {fmt} image.") from exc


def image_inspect(data: bytes, *, max_pixels: int) -> ImageInfo:
    """Validate an upload without trusting anything but its bytes.

    The pixel count comes from the header, before any decoding, so a
    decompression bomb is refused without allocating its pixels. Then the
    image data is decoded (JPEG at 1/8 scale, which still reads every
    entropy-coded byte) so truncated or corrupt files are refused here rather
    than failing later in the worker."""
    fmt = image_sniff(data[:16])
    img = _open(data, fmt)
    width, height = img.size
    if width < 1 or height < 1:
        raise ImageRejected("Image has no pixels.")
    if width * height > max_pixels:
        raise ImageRejected(
            f"Image is {width}x{height} = {width * height:,} pixels; the limit is {max_pixels:,} "
            "(decompression bomb protection)."
        )
    try:
        if fmt == "PNG":
            # verify() walks every chunk and checks its CRC: truncation and
            # corruption are caught without inflating the pixels. It must run
            # on a freshly opened image, and leaves that image unusable.
            _open(data, fmt).verify()
        orientation = img.getexif().get(0x0112, 1)
        if fmt != "PNG":
            if fmt == "JPEG":
                img.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            img.load()  # GIF: the first frame only
    except Image.DecompressionBombError as exc:
        raise ImageRejected(f"Image has too many pixels ({exc}).") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(f"Corrupt or truncated {fmt} image: {exc}.") from exc
    finally:
        img.close()
    if orientation in _SWAPPING_ORIENTATIONS:
        width, height = height, width
    return ImageInfo(format=fmt, width=width, height=height)


def _decode_oriented(data: bytes, fmt: str, *, longest: int) -> Image.Image:
    """Decode (first frame), apply EXIF orientation, and drop all metadata.
    JPEGs decode straight at a reduced scale when the largest variant allows."""
    img = _open(data, fmt)
    if fmt == "JPEG":
        w, h = img.size
        scale = min(1.0, longest / max(w, h))
        img.draft("RGB", (max(1, int(w * scale)), max(1, int(h * scale))))
    img.load()
    img = ImageOps.exif_transpose(img)
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    icc = img.info.get("icc_profile")
    img = img.convert("RGBA" if has_alpha else "RGB")
    # A fresh info dict: EXIF (GPS included), XMP and comments are not carried
    # into any variant; only the colour profile is kept.
    img.info = {"icc_profile": icc} if icc else {}
    return img


def _fit(img: Image.Image, longest: int, square: bool) -> Image.Image:
    w, h = img.size
    if square:
        side = min(w, h, longest)  # never upscaled
        return ImageOps.fit(img, (side, side), method=Image.Resampling.LANCZOS)
    scale = longest / max(w, h)
    if scale >= 1:
        return img.copy()
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _encode(img: Image.Image) -> tuple[bytes, bytes]:
    icc = img.info.get("icc_profile")
    extra = {"icc_profile": icc} if icc else {}
    jpeg_src = img
    if img.mode == "RGBA":
        # JPEG has no alpha: flatten onto white rather than black.
        jpeg_src = Image.new("RGB", img.size, (255, 255, 255))
        jpeg_src.paste(img, mask=img.getchannel("A"))
    jpeg = io.BytesIO()
    jpeg_src.save(jpeg, format="JPEG", quality=JPEG_QUALITY, progressive=True, optimize=True, **extra)
    webp = io.BytesIO()
    img.save(webp, format="WEBP", quality=WEBP_QUALITY, method=4, **extra)
    return jpeg.getvalue(), webp.getvalue()


def variants_render(data: bytes) -> list[Variant]:
    """Every variant of VARIANT_SPECS, as progressive JPEG and WebP, metadata-free."""
    fmt = image_sniff(data[:16])
    biggest = max(longest for longest, _ in VARIANT_SPECS.values())
    try:
        base = _decode_oriented(data, fmt, longest=biggest)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(f"Corrupt or truncated {fmt} image: {exc}.") from exc
    out: list[Variant] = []
    source = base
    for name, (longest, square) in VARIANT_SPECS.items():  # largest first
        # Each plain variant is scaled from the previous, smaller-but-sufficient one.
        if square:
            # The smallest plain variant suffices unless a panorama made its
            # short side smaller than the thumbnail.
            crop_from = source if min(source.size) >= min(longest, *base.size) else base
            img = _fit(crop_from, longest, square)
        else:
            img = source = _fit(source, longest, square)
        jpeg, webp = _encode(img)
        out.append(Variant(name=name, width=img.width, height=img.height, jpeg=jpeg, webp=webp))
    return out
