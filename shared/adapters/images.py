"""Credential images: prove the bytes are an image of the declared type, strip metadata, hash.

Pillow (and pillow-heif for HEIC) is imported inside these functions only: the submit path is
the one function that pays for it. Perceptual hashing is a dHash computed with Pillow alone
(numpy/imagehash would cost the cold start more than the whole handler).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from shared import errors
from shared.domain.verification import IMAGE_TYPES

# What a submit may decode, read from the header before any pixel is. Measured on the shared build
# machine (Pillow 13, one image, peak RSS over the imports, then five in a row as one submit holds):
#   40 MP PNG RGB 1.3 s +226 MB, RGBA 1.9 s +382 MB (five: 9.1 s, 425 MB);
#   25 MP PNG RGBA 1.2 s +254 MB (five: 5.7 s, 290 MB); 25 MP JPEG 0.5 s +157 MB (five: 2.3 s);
#   40 MP JPEG 0.5 s +86 MB (decoded at half scale by `draft`).
# Before decoding once and shrinking in place, a 40 MP image took +540 MB and up to 2.9 s. The submit
# function has 1024 MB and 28 s, and a Lambda of 1024 MB gets about 0.6 of a vCPU (twice these
# times or worse): 25 MP keeps five images under 300 MB and about 12 s there, and still takes a 24 MP
# phone photo (5712 x 4284) whole. Pillow's own bomb guard is set to it too (refusing at twice it).
MAX_IMAGE_PIXELS = 25_000_000
MIN_IMAGE_SIDE = 16
CLEAN_CONTENT_TYPE = "image/jpeg"
CLEAN_JPEG_QUALITY = 85
# Reviewers read documents on a phone: anything larger is scaled down (it also drops hidden detail).
CLEAN_MAX_SIDE = 2400
DHASH_SIZE = 8
# Modes Pillow resizes with a proper filter; others (palette, 1-bit, 16-bit) become RGB first.
_RESIZABLE_MODES = frozenset({"RGB", "RGBA", "L", "LA", "CMYK", "YCbCr"})
# An animated WebP, PNG or HEIC sequence is no credential photo; its frames would each be decoded.
MAX_IMAGE_FRAMES = 1


@dataclass(frozen=True)
class CleanImage:
    """A sanitized copy: re-encoded JPEG with no EXIF, GPS, ICC, XMP or comments."""

    data: bytes
    sha256: str  # of the uploaded bytes: the same file uploaded twice
    dhash: str  # perceptual: the same picture re-encoded, resized or recompressed
    width: int
    height: int
    content_type: str = CLEAN_CONTENT_TYPE


_heif_registered = False


def _register_heif() -> None:
    global _heif_registered  # noqa: PLW0603 - a once-per-container plugin registration
    if not _heif_registered:
        from pillow_heif import register_heif_opener

        register_heif_opener()
        _heif_registered = True


def dhash(image: object) -> str:
    """Difference hash: 64 bits of "is this pixel brighter than its right neighbour"."""
    from PIL import Image

    if not isinstance(image, Image.Image):
        raise TypeError("dhash needs a PIL image")
    small = image.convert("L").resize((DHASH_SIZE + 1, DHASH_SIZE), Image.Resampling.LANCZOS)
    pixels = small.tobytes()  # mode L: one byte per pixel, row by row
    bits = 0
    for row in range(DHASH_SIZE):
        for col in range(DHASH_SIZE):
            left = pixels[row * (DHASH_SIZE + 1) + col]
            right = pixels[row * (DHASH_SIZE + 1) + col + 1]
            bits = (bits << 1) | (1 if left > right else 0)
    return f"{bits:016x}"


def sanitize(data: bytes, content_type: str) -> CleanImage:
    """The image re-encoded without metadata, or 400 when the bytes are not the declared image or
    would cost more to decode than `MAX_IMAGE_PIXELS` allows (read from the header, before any pixel
    is decoded)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    expected_format = IMAGE_TYPES[content_type][1]
    if content_type == "image/heic":
        _register_heif()
    # Pillow's own guard, kept as a second line: it warns above this and refuses at twice it.
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(io.BytesIO(data), formats=[expected_format]) as image:
            if image.width < MIN_IMAGE_SIDE or image.height < MIN_IMAGE_SIDE:
                raise errors.invalid("documents", "invalid", "image_small", min=MIN_IMAGE_SIDE)
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise errors.invalid(
                    "documents", "invalid", "image_pixels", max=f"{MAX_IMAGE_PIXELS // 1_000_000}"
                )
            if getattr(image, "n_frames", 1) > MAX_IMAGE_FRAMES:
                raise errors.invalid("documents", "invalid", "image_frames")
            # A JPEG decodes straight at a scale still above the clean size (1/2 to 1/8 per side).
            image.draft("RGB", (CLEAN_MAX_SIDE, CLEAN_MAX_SIDE))
            image.load()  # decode it all: a truncated or corrupt file fails here
            shrunk = image.convert("RGB") if image.mode not in _RESIZABLE_MODES else image
            # Shrink first, in place, so the full-size pixels are held once, never copied.
            shrunk.thumbnail((CLEAN_MAX_SIDE, CLEAN_MAX_SIDE))
            upright = ImageOps.exif_transpose(shrunk)  # keep the orientation, then drop the EXIF
            rgb = upright.convert("RGB")
    except errors.DomainError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's guard, met at open on a bomb's header
        raise errors.invalid(
            "documents", "invalid", "image_pixels", max=f"{MAX_IMAGE_PIXELS // 1_000_000}"
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise errors.invalid("documents", "invalid", "image_unreadable", content_type=content_type) from exc
    # A fresh image holds pixels only: no info dict, EXIF, ICC profile or XMP is carried over.
    bare = Image.new("RGB", rgb.size)
    bare.paste(rgb)
    out = io.BytesIO()
    bare.save(out, format="JPEG", quality=CLEAN_JPEG_QUALITY, optimize=True)
    return CleanImage(
        data=out.getvalue(),
        sha256=hashlib.sha256(data).hexdigest(),
        dhash=dhash(bare),
        width=bare.width,
        height=bare.height,
    )
