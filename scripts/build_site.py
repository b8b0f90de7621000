"""Build the course site into build/site (`make site`): Sphinx + MyST-NB, nothing executed.

The sources are staged in build/site-src so the notebooks, README's lesson table, the images and
the pages generated from the glossary sit in one tree, as on the repository:

    build/site-src/conf.py, index.md, lessons.md, _ext/, _static/   from docs/
    build/site-src/README.md, docs/images/                          from the repository
    build/site-src/notebooks/*.ipynb, notebooks/solutions/*.ipynb   the executed notebooks
    build/site-src/languages/                                       scripts/site_glossary.py
    build/site-src/_vendor/{mathjax,widgets,fonts}/                 from build/npm (npm ci)

Run it with the site's own environment (requirements-site.txt: no torch, no TensorFlow); it
needs no network once `npm ci` has filled build/npm. Prints the site's folder and how to preview it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import site_glossary  # noqa: E402

STAGE = ROOT / "build" / "site-src"
SITE = ROOT / "build" / "site"
NODE_MODULES = ROOT / "build" / "npm" / "node_modules"
# What the pages load, copied from the npm packages (package.json pins their versions).
VENDOR = {
    "mathjax": ("mathjax/es5", ["**/*"]),
    "widgets": ("@jupyter-widgets/html-manager/dist", ["embed.js", "*.woff", "*.woff2", "*.ttf",
                                                       "*.eot", "*.svg"]),
    "fonts": ("@fontsource", ["noto-sans-devanagari/files/*-devanagari-[47]00-normal.woff2",
                              "noto-sans-kannada/files/*-kannada-[47]00-normal.woff2"]),
}  # fmt: skip


def pages_url() -> str:
    """The site's address on GitHub Pages (README's "Read online" badge links it)."""
    import build_notebooks  # needs jupytext: the course's environment, not the site's

    return build_notebooks.pages_url()


def copy_vendor(target: Path) -> None:
    for name, (package, patterns) in VENDOR.items():
        base = NODE_MODULES / package
        if not base.is_dir():
            raise SystemExit(f"{base} is missing: run `make site` (it runs npm ci into build/npm)")
        for pattern in patterns:
            found = [path for path in base.glob(pattern) if path.is_file()]
            if not found:
                raise SystemExit(f"nothing matches {package}/{pattern}: has the package changed?")
            for path in found:
                destination = target / name / path.relative_to(base)
                if name == "fonts":
                    destination = target / name / path.name
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, destination)


def stage() -> None:
    shutil.rmtree(STAGE, ignore_errors=True)
    docs = ROOT / "docs"
    shutil.copytree(docs, STAGE, ignore=shutil.ignore_patterns("images", "glossary"))
    shutil.copytree(docs / "images", STAGE / "docs" / "images")
    # README links the solutions folder (GitHub lists it); the site has no folder pages, so the
    # lesson table's copy links the first solutions notebook, whose page lists the rest beside it.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    readme = readme.replace(
        "](notebooks/solutions/)", "](notebooks/solutions/01_generative_rnn.ipynb)"
    )
    (STAGE / "README.md").write_text(readme, encoding="utf-8")
    for notebook in [*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("notebooks/solutions/*.ipynb")]:
        destination = STAGE / notebook.relative_to(ROOT)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(notebook, destination)
    site_glossary.write_pages(STAGE)
    copy_vendor(STAGE / "_vendor")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="1", help="Sphinx's parallel jobs (default 1)")
    args = parser.parse_args()
    from sphinx.cmd.build import build_main

    started = time.monotonic()
    stage()
    shutil.rmtree(SITE, ignore_errors=True)
    status = build_main(["-b", "html", "-q", "-W", "--keep-going", "-j", args.jobs, "-d", str(STAGE / ".doctrees"),
                         str(STAGE), str(SITE)])  # fmt: skip
    if status:
        return status
    print(f"site built in {time.monotonic() - started:.0f} s: {SITE.relative_to(ROOT)}/index.html")
    print(
        f"preview: python3 -m http.server --bind 127.0.0.1 --directory {SITE.relative_to(ROOT)} 8000"
    )
    print("then open http://127.0.0.1:8000/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
