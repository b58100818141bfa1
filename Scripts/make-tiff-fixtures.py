#!/usr/bin/env python3
"""Writes the TIFF fixtures of Tests/Fixtures/tiff with tifffile (the writer of the stardist wheel's
nuclei image): files kswap's TIFF reader reads, whose pixels follow the formula `pattern` below
(Tests/ImportersTests/TIFFTests.swift computes the same), files it must refuse, and a small nuclei-like
image + instance-mask pair for the CLI cases.

    python3 -m venv /tmp/tiff-venv && /tmp/tiff-venv/bin/pip install numpy==2.4.6 tifffile==2026.3.3
    /tmp/tiff-venv/bin/python Scripts/make-tiff-fixtures.py

The output is deterministic (tifffile writes no date); rerunning it gives the same bytes.
"""
import os

import numpy as np
import tifffile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "tiff")


def pattern(height, width, channels, bits):
    """Sample (row, column, channel): distinct along both axes, so a transposed or shifted read shows."""
    r, c, k = np.meshgrid(np.arange(height), np.arange(width), np.arange(channels), indexing="ij")
    if bits == 8:
        values = (r * 31 + c * 7 + k * 85) % 256
    else:
        values = (r * 4099 + c * 257 + k * 12345) % 65536
    values = values.astype(np.uint8 if bits == 8 else np.uint16)
    return values[..., 0] if channels == 1 else values


def write(name, data, **options):
    tifffile.imwrite(os.path.join(OUT, name), data, metadata=None, **options)


def main():
    os.makedirs(OUT, exist_ok=True)
    # Read: each file's name gives its height x width; its pixels are pattern(H, W, C, bits).
    write("grey8-le-5x7.tif", pattern(5, 7, 1, 8), byteorder="<", photometric="minisblack")
    write("grey16-be-5x7-strips.tif", pattern(5, 7, 1, 16), byteorder=">", photometric="minisblack", rowsperstrip=2)
    write("rgb8-le-6x4-strips.tif", pattern(6, 4, 3, 8), byteorder="<", photometric="rgb", rowsperstrip=4)
    write("rgb16-be-3x5.tif", pattern(3, 5, 3, 16), byteorder=">", photometric="rgb")
    write("grey16-le-35x20-tiles.tif", pattern(35, 20, 1, 16), byteorder="<", photometric="minisblack", tile=(16, 16))
    write("rgb8-be-17x18-tiles.tif", pattern(17, 18, 3, 8), byteorder=">", photometric="rgb", tile=(16, 16))

    # Refused, each for one reason its name gives.
    grey = pattern(5, 7, 1, 8)
    write("refused-deflate.tif", grey, photometric="minisblack", compression="zlib")
    write("refused-float.tif", grey.astype(np.float32), photometric="minisblack")
    write("refused-signed.tif", grey.astype(np.int16), photometric="minisblack")
    write("refused-palette.tif", grey, photometric="palette", colormap=np.zeros((3, 256), np.uint16))
    write("refused-planar.tif", np.moveaxis(pattern(5, 7, 3, 8), 2, 0), photometric="rgb", planarconfig="separate")
    write("refused-alpha.tif", pattern(5, 7, 4, 8), photometric="rgb", extrasamples=["unassalpha"])
    write("refused-two-pages.tif", np.stack([grey, grey]), photometric="minisblack")
    write("refused-bigtiff.tif", grey, photometric="minisblack", bigtiff=True)
    write("refused-32bit.tif", grey.astype(np.uint32), photometric="minisblack")
    write("refused-1bit.tif", grey > 100, photometric="minisblack")

    # A nuclei-like pair for the CLI cases, the stardist wheel's form (uncompressed 16-bit grey, instance
    # ids in the mask): 40x48, three round "nuclei" with ids 1, 2 and 300 (above 255 on purpose),
    # intensities up to 300 inside them and up to 20 outside.
    rng = np.random.default_rng(9)
    rows, columns = np.mgrid[0:40, 0:48]
    mask = np.zeros((40, 48), np.uint16)
    for instance, (row, column, radius) in zip([1, 2, 300], [(10, 10, 6), (28, 16, 8), (18, 36, 7)]):
        mask[(rows - row) ** 2 + (columns - column) ** 2 <= radius**2] = instance
    image = rng.integers(0, 21, size=(40, 48)).astype(np.uint16)
    image[mask > 0] = rng.integers(150, 301, size=int((mask > 0).sum()))
    write("nuclei-image.tif", image, photometric="minisblack")
    write("nuclei-mask.tif", mask, photometric="minisblack")


if __name__ == "__main__":
    main()
