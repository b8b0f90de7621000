"""Copy the figures of the executed notebooks to docs/images/ (`make figures`).

A code cell built with ``code(..., figure="NAME")`` carries ``lessonkit_figure`` in its metadata;
its last PNG output becomes ``docs/images/NAME.png``. Only the PyTorch notebook of a pair (or the
single notebook) is exported, so each figure has one source. The browser test's screenshot, when
present in build/, is copied too.
"""

from __future__ import annotations

import base64
import shutil
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"


def main() -> int:
    IMAGES.mkdir(parents=True, exist_ok=True)
    written = 0
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        if path.name.endswith("_tensorflow.ipynb"):
            continue
        for cell in nbformat.read(path, as_version=4).cells:
            name = cell.get("metadata", {}).get("lessonkit_figure")
            if not name:
                continue
            pngs = [
                o["data"]["image/png"]
                for o in cell.get("outputs", [])
                if "image/png" in o.get("data", {})
            ]
            if not pngs:
                print(
                    f"{path.name}: figure {name!r} has no PNG output (execute the notebook first)"
                )
                return 1
            (IMAGES / f"{name}.png").write_bytes(base64.b64decode(pngs[-1]))
            written += 1
    for shot in (ROOT / "build").glob("screenshot_*.png"):
        shutil.copy(shot, IMAGES / shot.name)
        written += 1
    print(f"wrote {written} figures to {IMAGES.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
