#!/usr/bin/env python3
"""Rebuild training/assets/textures/ from real photos shipped by Debian's python3-skimage (CC0 / public
domain; see ATTRIBUTION.md there). The crops are committed so the generator is deterministic everywhere;
run this only to regenerate them:  apt-get install python3-skimage && python3 training/fetch_textures.py"""
import os
import sys

import numpy as np
from PIL import Image

SOURCE = "/usr/lib/python3/dist-packages/skimage/data"
PHOTOS = ["brick.png", "grass.png", "gravel.png", "coffee.png", "chelsea.png", "rocket.jpg", "astronaut.png"]
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets", "textures")


def main() -> int:
    if not os.path.isdir(SOURCE):
        print(f"fetch_textures.py: {SOURCE} not found; install python3-skimage", file=sys.stderr)
        return 1
    os.makedirs(OUT, exist_ok=True)
    for name in PHOTOS:
        img = Image.open(os.path.join(SOURCE, name)).convert("RGB")
        img.thumbnail((320, 320), Image.LANCZOS)
        stem = os.path.splitext(name)[0]
        img.save(os.path.join(OUT, f"{stem}.jpg"), quality=90)
        print(stem, img.size, np.asarray(img).std().round(1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
