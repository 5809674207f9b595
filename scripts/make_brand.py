"""Draw the integration's brand icon into custom_components/nezha/brand/.

Our own mark, neither Nezha's logo nor Home Assistant's: a rounded square in a blue gradient
with a white two-unit server rack and a pulse line under it. It is drawn at four times 512 px,
scaled down to 512 px (icon@2x.png) and 256 px (icon.png). The output depends only on this
file and Pillow (no fonts, no randomness, no timestamps), so running it again gives the same
images.

    python scripts/make_brand.py            write the images
    python scripts/make_brand.py --check    exit 1 if the images on disk differ from a fresh draw
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys

from PIL import Image, ImageDraw

BRAND_DIR = Path(__file__).resolve().parent.parent / "custom_components" / "nezha" / "brand"
SIZES: dict[str, int] = {"icon.png": 256, "icon@2x.png": 512}
"""File name -> edge length in pixels (Home Assistant's brand image sizes)."""

SUPERSAMPLE = 4
BASE = 512 * SUPERSAMPLE
"""Edge length of the canvas everything is drawn on."""

TOP_COLOR = (37, 99, 235)  # blue
BOTTOM_COLOR = (8, 145, 178)  # cyan
GLYPH_COLOR = (255, 255, 255, 255)
LED_ON = (74, 222, 128, 255)  # green
LED_OFF = (191, 219, 254, 255)  # pale blue


def _px(fraction: float) -> int:
    """A length given as a fraction of the canvas edge, in canvas pixels."""
    return round(fraction * BASE)


def _background() -> Image.Image:
    """The rounded square: a top-to-bottom gradient, transparent outside the corners."""
    gradient = Image.linear_gradient("L").resize((BASE, BASE))
    top = Image.new("RGB", (BASE, BASE), TOP_COLOR)
    bottom = Image.new("RGB", (BASE, BASE), BOTTOM_COLOR)
    square = Image.composite(bottom, top, gradient).convert("RGBA")
    mask = Image.new("L", (BASE, BASE), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, BASE - 1, BASE - 1), radius=_px(0.22), fill=255)
    square.putalpha(mask)
    return square


def _rack_unit(draw: ImageDraw.ImageDraw, top: float, *, led: tuple[int, int, int, int]) -> None:
    """One white rack unit with two drive slots and a status light, ``top`` from the edge."""
    left, right, height = 0.20, 0.80, 0.17
    draw.rounded_rectangle(
        (_px(left), _px(top), _px(right), _px(top + height)), radius=_px(0.045), fill=GLYPH_COLOR
    )
    # Drive slots: cut back to the background by drawing them transparent (composited later).
    slot_top, slot_bottom = top + 0.068, top + height - 0.068
    for slot_left in (0.27, 0.38):
        draw.rounded_rectangle(
            (_px(slot_left), _px(slot_top), _px(slot_left + 0.075), _px(slot_bottom)),
            radius=_px(0.017),
            fill=(0, 0, 0, 0),
        )
    centre_x, centre_y, radius = 0.695, top + height / 2, 0.032
    draw.ellipse(
        (
            _px(centre_x - radius),
            _px(centre_y - radius),
            _px(centre_x + radius),
            _px(centre_y + radius),
        ),
        fill=led,
    )


def _glyph() -> Image.Image:
    """The rack and the pulse line on a transparent canvas."""
    glyph = Image.new("RGBA", (BASE, BASE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(glyph)
    _rack_unit(draw, 0.19, led=LED_ON)
    _rack_unit(draw, 0.40, led=LED_OFF)
    pulse = [
        (0.14, 0.71),
        (0.36, 0.71),
        (0.43, 0.62),
        (0.52, 0.83),
        (0.60, 0.66),
        (0.65, 0.71),
        (0.86, 0.71),
    ]
    width = _px(0.055)
    points = [(_px(x), _px(y)) for x, y in pulse]
    draw.line(points, fill=GLYPH_COLOR, width=width, joint="curve")
    for x, y in (points[0], points[-1]):  # round caps
        draw.ellipse((x - width // 2, y - width // 2, x + width // 2, y + width // 2), GLYPH_COLOR)
    return glyph


def render() -> dict[str, Image.Image]:
    """Every brand image by file name."""
    background = _background()
    glyph = _glyph()
    # The drive slots are transparent in the glyph, so the gradient shows through them.
    icon = background.copy()
    icon.alpha_composite(glyph)
    return {
        name: icon.resize((size, size), Image.Resampling.LANCZOS) for name, size in SIZES.items()
    }


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the brand images."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    images = render()
    if args.check:
        stale = [
            name
            for name, image in images.items()
            if not (BRAND_DIR / name).is_file()
            or Image.open(BRAND_DIR / name).convert("RGBA").tobytes() != image.tobytes()
        ]
        for name in stale:
            print(f"{BRAND_DIR / name} is missing or out of date: run scripts/make_brand.py")
        return 1 if stale else 0
    BRAND_DIR.mkdir(parents=True, exist_ok=True)
    for name, image in images.items():
        image.save(BRAND_DIR / name, format="PNG", optimize=True)
        print(f"wrote {BRAND_DIR / name} ({image.width}×{image.height})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
