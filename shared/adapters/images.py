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
from shared.domain.verification import IMAGE_TYPES, MAX_IMAGE_PIXELS, MIN_IMAGE_SIDE

CLEAN_CONTENT_TYPE = "image/jpeg"
CLEAN_JPEG_QUALITY = 85
# Reviewers read documents on a phone: anything larger is scaled down (it also drops hidden detail).
CLEAN_MAX_SIDE = 2400
DHASH_SIZE = 8


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
    """The image re-encoded without metadata, or 400 when the bytes are not the declared image."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    expected_format = IMAGE_TYPES[content_type][1]
    if content_type == "image/heic":
        _register_heif()
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(io.BytesIO(data), formats=[expected_format]) as image:
            if image.width < MIN_IMAGE_SIDE or image.height < MIN_IMAGE_SIDE:
                raise errors.invalid("documents", "invalid", "image_small", min=MIN_IMAGE_SIDE)
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise errors.invalid("documents", "invalid", "image_pixels", max=MAX_IMAGE_PIXELS)
            image.load()  # decode it all: a truncated or corrupt file fails here
            upright = ImageOps.exif_transpose(image)  # keep the orientation, then drop the EXIF
            rgb = upright.convert("RGB")
    except errors.DomainError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as exc:
        raise errors.invalid("documents", "invalid", "image_unreadable", content_type=content_type) from exc
    rgb.thumbnail((CLEAN_MAX_SIDE, CLEAN_MAX_SIDE))
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
