"""The course site (`make site`): its glossary data, its publishing workflow, and the built site
in a real browser.

The browser test serves build/site on a free loopback port from a thread and opens every page in
headless Chromium (the notebook browser test's, tests/test_browser.py). Each page must load
without a console error, a failed request or a request leaving the site, and every image must
have a size. Then: MathJax typesets Lesson 2's equations, the search page finds "temperature" on
Lesson 1's page, a quiz shows its static view with the answers folded and a progress bar is drawn
from its saved widget state, and a page per language shows its own script in the site's fonts.
Screenshots of Lesson 1, Lesson 5 and the Hindi Lesson 1 page are saved in build/.

The site needs Node.js and npm (MathJax, the widget manager and the fonts come from npm packages):
without them the browser test skips and says so, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import re
import shutil
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
import tomllib
import yaml
from test_browser import chromium, open_browser, wait_until  # noqa: F401 (chromium: a fixture)

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "build" / "site"
SEEDS = ROOT.parent / "shared" / "seeds"  # beside the checkout; the site never reads it
WORKFLOW = ROOT / ".github" / "workflows" / "pages.yml"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SCREENSHOTS = {
    "notebooks/01_generative_rnn_pytorch.html": ROOT / "build" / "site_lesson1.png",
    "notebooks/05b_gpt2_internals_pytorch.html": ROOT / "build" / "site_lesson5b.png",
    "languages/hi/lesson-1.html": ROOT / "build" / "site_hindi_lesson1.png",
}
FAILURE_SCREENSHOT = ROOT / "build" / "site_test_failure.png"
SCRIPTS = {  # a language's letters, as a page in it must show them
    "ne": re.compile("[\u0900-\u097f]"),
    "hi": re.compile("[\u0900-\u097f]"),
    "kn": re.compile("[\u0c80-\u0cff]"),
    "nb": re.compile("[æøåÆØÅ]"),
}
FONTS = {"ne": "Noto Sans Devanagari", "hi": "Noto Sans Devanagari", "kn": "Noto Sans Kannada"}
# The fonts the page's text needs, loaded: they are fetched once layout asks for them (after the load
# event), so leaving or taking a screenshot earlier would abort them or draw empty boxes. Two frames
# let layout start them; then fonts.ready waits for them. (FontFace.load() on every face instead
# leaves text laid out meanwhile drawn as boxes in Chromium.)
FONTS_LOADED = """new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))
    .then(() => document.fonts.ready).then(() => true)"""
MOJIBAKE = re.compile("\ufffd|Ã.|à¤|à²|â€")  # UTF-8 read as Latin-1, or lost characters


@functools.cache
def load_glossary():
    spec = importlib.util.spec_from_file_location(
        "site_glossary", ROOT / "scripts" / "site_glossary.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


# --- The learners' languages: one data file, complete ---------------------------------------------


def test_every_term_has_every_language_and_a_source():
    glossary = load_glossary()
    entries = glossary.read_terms()
    table = glossary.glossary(entries)
    assert sorted(table) == sorted(glossary.LESSONS), "a lesson has no glossary"
    wanted = {"en", *glossary.LANGUAGES}
    for lesson, terms in table.items():
        assert 20 <= len(terms) <= 30, f"lesson {lesson} has {len(terms)} terms (20 to 30)"
        for term, languages in terms.items():
            assert set(languages) == wanted, (
                f"lesson {lesson}, {term}: missing {sorted(wanted - set(languages))}"
            )
            english = languages["en"].rendering
            for language, entry in languages.items():
                assert not MOJIBAKE.search(entry.rendering), f"{term} ({language}): mojibake"
                if language == "en":
                    continue
                if entry.source == glossary.KEPT:  # the English term, glossed in the language
                    assert english.lower() in entry.rendering.lower(), (term, language)
                    assert entry.rendering != english, f"{term} ({language}): no gloss"
                if language in FONTS:
                    assert SCRIPTS[language].search(entry.rendering), (
                        f"{term} ({language}): {entry.rendering!r} has no letter of its script"
                    )
    duplicates = Counter((e.lesson, e.term_id, e.language) for e in entries)
    assert max(duplicates.values()) == 1, [key for key, n in duplicates.items() if n > 1]


def test_a_term_reads_the_same_in_every_lesson():
    glossary = load_glossary()
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    for entry in glossary.read_terms():
        key = (entry.term_id, entry.language)
        first = seen.setdefault(key, (entry.rendering, entry.lesson))
        assert first[0] == entry.rendering, (
            f"{entry.term_id} ({entry.language}) reads {first[0]!r} in lesson {first[1]} "
            f"but {entry.rendering!r} in lesson {entry.lesson}"
        )


def test_sources_are_published_translations_or_kept_in_english():
    glossary = load_glossary()
    sources = {e.source for e in glossary.read_terms() if e.language != "en"}
    if not SEEDS.is_dir():
        pytest.skip(f"{SEEDS} is not beside the checkout: cannot check the sources' names")
    files = {path.name for path in SEEDS.glob("*.md")}
    assert sources - {glossary.KEPT} <= files, f"not in {SEEDS}: {sources - files}"
    assert sources & files, "no rendering follows a published translation"
    # A rendering that follows a translation uses its words: every word of the term itself (before
    # a gloss after " — " or a note in brackets) occurs in that document, as a stem at least.
    texts = {name: (SEEDS / name).read_text(encoding="utf-8").lower() for name in files}
    for entry in glossary.read_terms():
        if entry.language == "en" or entry.source == glossary.KEPT:
            continue
        term = entry.rendering.split(" — ")[0].split(" (")[0]
        missing = [word for word in term.lower().split() if word not in texts[entry.source]]
        assert not missing, f"{entry.term_id} ({entry.language}): {missing} not in {entry.source}"


def test_every_language_summarizes_every_lesson():
    glossary = load_glossary()
    for language in glossary.LANGUAGES:
        summaries = glossary.read_summaries(language)
        assert summaries.intro and not MOJIBAKE.search(summaries.intro), language
        assert list(summaries.lessons) == glossary.LESSONS, language
        for lesson, (title, text) in summaries.lessons.items():
            assert title and len(text) > 200, f"{language}, lesson {lesson}: too short"
            assert not MOJIBAKE.search(title + text), f"{language}, lesson {lesson}: mojibake"
            assert SCRIPTS[language].search(text), f"{language}, lesson {lesson}: wrong script"


def test_the_pages_show_every_term_of_their_lesson(tmp_path):
    glossary = load_glossary()
    table = glossary.glossary(glossary.read_terms())
    written = glossary.write_pages(tmp_path)
    assert len(written) == len(glossary.LANGUAGES) * (len(glossary.LESSONS) + 1) + 1
    for language in glossary.LANGUAGES:
        for lesson in glossary.LESSONS:
            page = (tmp_path / "languages" / language / f"lesson-{lesson}.md").read_text("utf-8")
            assert glossary.LABELS[language]["guide"] in page, "it must say it guides the notebooks"
            rows = [line for line in page.splitlines() if line.startswith("| ")]
            assert len(rows) == 1 + len(table[lesson]), f"{language}, lesson {lesson}"
            # Escaped for markdown, and back as written: <unk>, [MASK], <|endoftext|>.
            for terms, row in zip(table[lesson].values(), rows[1:], strict=True):
                shown = re.sub(r"\\(.)", r"\1", row)
                assert shown == f"| {terms['en'].rendering} | {terms[language].rendering} |"


# --- Publishing: the GitHub Pages workflow --------------------------------------------------------


def test_pages_workflow_builds_without_executing_and_deploys():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert "main" in triggers["push"]["branches"]
    assert workflow["permissions"]["pages"] == "write"
    assert workflow["permissions"]["id-token"] == "write"
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    runs = "\n".join(step.get("run", "") for step in build["steps"])
    assert "make site" in runs and "nbval" not in runs and "--execute" not in runs
    assert "requirements.txt" not in runs, "the site must build without torch or TensorFlow"
    uses = [step.get("uses", "") for step in build["steps"]]
    upload = next(s for s in build["steps"] if "upload-pages-artifact" in s.get("uses", ""))
    assert upload["with"]["path"] == "build/site"
    assert any(u.startswith("actions/checkout@") for u in uses)
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"
    assert any("actions/deploy-pages@" in s.get("uses", "") for s in deploy["steps"])
    conf = (ROOT / "docs" / "conf.py").read_text()
    assert re.search(r'^nb_execution_mode = "off"$', conf, re.MULTILINE), "notebooks must not run"


def test_readme_reads_online_beside_the_badges():
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "scripts" / "build_site.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    badges = next(line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
                  if line.startswith("[!["))  # fmt: skip
    owner, name = urlparse(PYPROJECT["project"]["urls"]["Repository"]).path.strip("/").split("/")
    assert builder.pages_url() == f"https://{owner.lower()}.github.io/{name}/"
    assert (
        f"[![Read online](https://img.shields.io/badge/read-online-blue)]({builder.pages_url()})"
        in badges
    )


def test_start_here_links_every_language_page():
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "scripts" / "build_site.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    source = (ROOT / "notebooks" / "src" / "00_start_here.py").read_text(encoding="utf-8")
    for language in load_glossary().LANGUAGES:
        assert f"]({builder.pages_url()}languages/{language}/)" in source, language


# --- The built site in a browser ------------------------------------------------------------------


@pytest.fixture(scope="module")
def site() -> Path:
    ci = os.environ.get("CI") == "true"
    if shutil.which("node") is None or shutil.which("npm") is None:
        message = "the site needs Node.js and npm (MathJax and the widget manager come from npm)"
        if ci:
            pytest.fail("CI must build and test the site: " + message)
        pytest.skip(message + "; install them (apt-get install nodejs npm), then `make site`")
    if not (SITE / "index.html").is_file():
        if ci:
            pytest.fail("build/site is missing: `make test` runs `make site` first")
        pytest.skip("build/site is missing: run `make site` first")
    return SITE


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # the browser left mid-request
            super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def server(site) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def site_pages(site: Path) -> list[str]:
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    return [p for p in pages if not p.startswith(("_static/", "_sources/", "_images/"))]


def test_site_in_a_browser(chromium, server, site, tmp_path):  # noqa: F811 (the fixture)
    from playwright import sync_api

    pages = site_pages(site)
    notebooks = sorted(
        p.relative_to(ROOT / "notebooks").with_suffix(".html").as_posix()
        for p in [*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("notebooks/solutions/*.ipynb")]
    )
    assert {f"notebooks/{n}" for n in notebooks} <= set(pages), "a notebook has no page"

    problems: list[str] = []
    current = {"page": ""}
    FAILURE_SCREENSHOT.unlink(missing_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser, page = open_browser(playwright, chromium, tmp_path, timeout_ms=60_000)

        def outside(route):  # nothing may come from outside the site
            problems.append(f"{current['page']}: fetched {route.request.url}")
            route.abort()

        browser.route(re.compile(r"^(?!http://127\.0\.0\.1:)(?!data:)(?!blob:)"), outside)
        page.on(
            "console",
            lambda m: m.type == "error" and problems.append(f"{current['page']}: {m.text}"),
        )
        page.on("pageerror", lambda e: problems.append(f"{current['page']}: {e}"))
        page.on(
            "requestfailed",
            lambda r: problems.append(f"{current['page']}: failed {r.url} ({r.failure})"),
        )
        try:
            for name in pages:
                current["page"] = name
                page.goto(server + name, wait_until="load")
                # Fonts load after the load event: leaving earlier would abort their requests.
                page.evaluate(FONTS_LOADED)
                broken = page.evaluate(
                    """() => [...document.images]
                       .filter(img => !(img.complete && img.naturalWidth > 0 && img.naturalHeight > 0))
                       .map(img => img.src.slice(0, 80))"""
                )
                problems += [f"{name}: image without size {src}" for src in broken]
            assert not problems, "\n".join(problems[:30])

            # Equations: MathJax typesets Lesson 2's attention formulas.
            page.goto(server + "notebooks/02_attention_seq2seq_pytorch.html")
            page.locator("mjx-container").first.wait_for()
            assert page.locator("mjx-container").count() >= 5

            # Search: the search page finds "temperature" on Lesson 1's page.
            current["page"] = "search.html"
            page.goto(server + "search.html?q=temperature")
            hit = page.locator("#search-results a[href*='01_generative_rnn_pytorch']").first
            hit.wait_for()
            # Leave once every hit has its summary: the search page fetches each hit's page.
            page.wait_for_function(
                """() => /Search finished/.test(
                      document.querySelector('#search-results .search-summary').innerText)
                   && [...document.querySelectorAll('#search-results li')]
                      .every(li => li.querySelector('p.context, span'))"""
            )

            # Widgets: a quiz's static view with folded answers; a progress bar from its state.
            current["page"] = "notebooks/01_generative_rnn_pytorch.html"
            page.goto(server + current["page"])
            quiz = page.locator(".lessonkit-static", has_text="pre-quiz").first
            quiz.wait_for()
            answers = quiz.locator("details")
            assert answers.count() >= 3
            assert not any(answers.nth(i).get_attribute("open") is not None for i in range(3))
            assert not answers.first.locator("summary ~ *").first.is_visible(), "answer shown"
            answers.first.locator("summary").click()
            assert answers.first.locator("summary ~ *").first.is_visible()
            progress = page.locator(".widget-hprogress .progress-bar").first  # ipywidgets 8
            progress.wait_for()
            assert progress.bounding_box()["width"] > 0
            assert page.locator(".lessonkit-twins a[href*='tensorflow']").count() == 1

            # The learners' languages: their scripts, drawn with the site's fonts.
            for language, letters in SCRIPTS.items():
                current["page"] = f"languages/{language}/lesson-1.html"
                page.goto(server + current["page"])
                text = page.locator("article").inner_text()
                # Norwegian is mostly Latin letters: a few æ, ø, å per page are its mark.
                least = 10 if language == "nb" else 50
                assert len(letters.findall(text)) > least, f"{language}: its script is missing"
                if language in FONTS:
                    sample = letters.search(text).group()
                    page.evaluate(FONTS_LOADED)
                    assert page.evaluate(
                        f"document.fonts.check('16px \"{FONTS[language]}\"', {sample!r})"
                    ), f"{FONTS[language]} did not load"
                    loaded = page.evaluate(
                        "[...document.fonts].filter(f => f.status == 'loaded')"
                        ".map(f => f.family.replaceAll('\"', ''))"
                    )
                    assert FONTS[language] in loaded, f"{language}: drawn without the site's font"
            assert not problems, "\n".join(problems[:30])

            for name, path in SCREENSHOTS.items():
                page.goto(server + name)
                page.evaluate(FONTS_LOADED)
                page.screenshot(path=str(path))
        except Exception:
            page.screenshot(path=str(FAILURE_SCREENSHOT), full_page=False)
            raise
        finally:
            browser.close()
