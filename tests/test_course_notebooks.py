"""Every lesson notebook has its quizzes, self-checked exercises and challenge; the worked
solutions pass their checks and the learner's TODO cells report "not done yet"; data/ matches
its manifest."""

import ast
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

from lessonkit import data, exercises
from lessonkit.exercises import Feedback

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
LESSONS = {  # lesson number -> the stem shared by its two framework notebooks and its solutions
    1: "01_generative_rnn",
    2: "02_attention_seq2seq",
    3: "03_transformers",
    4: "04_bert",
    5: "05b_gpt2_internals",
}
LANDED = {n: stem for n, stem in LESSONS.items() if (NOTEBOOKS / f"{stem}_pytorch.ipynb").exists()}


def cells(path: Path, kind: str) -> list[str]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == kind]


def run_cell(source: str, namespace: dict):
    """Execute a cell; return the value of its last line when that line is an expression."""
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "<cell>", "exec"), namespace)
    if last is not None:
        return eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
    return None


def exercise_cells(path: Path) -> list[str]:
    return [c for c in cells(path, "code") if "exercises.check_" in c]


def fresh_namespace() -> dict:
    return {"np": np, "exercises": exercises}


def test_every_lesson_so_far_is_listed():
    assert {1, 3, 5} <= set(LANDED), "lessons 1, 3 and 5 have notebooks"


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
@pytest.mark.parametrize("lesson", sorted(LANDED))
def test_lesson_notebook_has_quizzes_exercises_challenge_and_reading(lesson, framework):
    path = NOTEBOOKS / f"{LANDED[lesson]}_{framework}.ipynb"
    code, markdown = cells(path, "code"), cells(path, "markdown")
    pre = [i for i, c in enumerate(code) if f'Quiz.from_file("lesson{lesson}", part="pre")' in c]
    post = [i for i, c in enumerate(code) if f'Quiz.from_file("lesson{lesson}", part="post")' in c]
    assert len(pre) == 1 and len(post) == 1, "one pre-quiz and one post-quiz"
    assert pre[0] < 3, "the pre-quiz comes at the top, right after the setup cell"
    assert post[0] == len(code) - 1, "the post-quiz is the last code cell"
    todo = [c for c in exercise_cells(path) if "NotImplementedError" in c]
    assert len(todo) >= 2, "at least two exercises, left as TODO for the learner"
    assert any(m.lstrip().startswith("## Challenge") or "\n## Challenge" in m for m in markdown)
    assert any("## Further reading" in m for m in markdown)


@pytest.mark.parametrize("lesson", sorted(LANDED))
def test_worked_solutions_pass_every_check(lesson):
    path = NOTEBOOKS / "solutions" / f"{LANDED[lesson]}.ipynb"
    solutions = exercise_cells(path)
    assert len(solutions) >= 2
    namespace = fresh_namespace()
    for source in solutions:
        feedback = run_cell(source, namespace)
        assert isinstance(feedback, Feedback) and feedback.passed, (source, feedback)


@pytest.mark.parametrize("lesson", sorted(LANDED))
def test_unfilled_exercises_say_not_done_instead_of_raising(lesson):
    path = NOTEBOOKS / f"{LANDED[lesson]}_pytorch.ipynb"
    for source in (c for c in exercise_cells(path) if "NotImplementedError" in c):
        feedback = run_cell(source, fresh_namespace())
        assert feedback.status == "not done" and "not done yet" in feedback.message


def test_the_exercises_in_both_frameworks_and_the_solutions_are_the_same_exercises():
    for stem in LANDED.values():
        torch_cells = exercise_cells(NOTEBOOKS / f"{stem}_pytorch.ipynb")
        tf_cells = exercise_cells(NOTEBOOKS / f"{stem}_tensorflow.ipynb")
        assert torch_cells == tf_cells
        checks = [c.strip().splitlines()[-1] for c in torch_cells if "NotImplementedError" in c]
        solved = [
            c.strip().splitlines()[-1]
            for c in exercise_cells(NOTEBOOKS / "solutions" / f"{stem}.ipynb")
        ]
        assert checks == solved, "every exercise has its worked solution, in the same order"


def test_manifest_lists_every_data_file_with_its_true_sha256():
    manifest = data.read_manifest()
    assert sorted(manifest) == data.bundled_files(), "run `make manifest` after changing data/"
    for name, digest in manifest.items():
        assert hashlib.sha256((data.data_dir() / name).read_bytes()).hexdigest() == digest, name
    assert all(item.status == "intact" for item in data.check_bundle())


def test_the_hashes_data_readme_quotes_are_the_manifests():
    """data/README.md may quote a file's sha256 for readers; the manifest is the only source the
    code reads, so every quoted hash must be in it, and be the hash of the file its line names."""
    manifest = data.read_manifest()
    readme = (data.data_dir() / "README.md").read_text(encoding="utf-8")
    quoted = 0
    for line in readme.splitlines():
        hashes = re.findall(r"\b[0-9a-f]{64}\b", line)
        quoted += len(hashes)
        assert set(hashes) <= set(manifest.values()), f"not in SHA256SUMS: {line}"
        for name, digest in manifest.items():
            if f"`{name.rsplit('/', 1)[-1]}`" in line:  # a line naming one file quotes its hash
                assert hashes in ([], [digest]), f"{name}'s hash is {digest}: {line}"
    assert quoted >= 8


def test_check_bundle_reports_altered_missing_and_unlisted_files(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text("alpha")
    (tmp_path / "b.txt").write_text("beta")
    monkeypatch.setenv("LESSONKIT_DATA", str(tmp_path))
    data.write_manifest()
    assert {item.status for item in data.check_bundle()} == {"intact"}
    (tmp_path / "a.txt").write_text("altered")
    (tmp_path / "b.txt").unlink()
    (tmp_path / "c.txt").write_text("new")
    assert sorted(data.check_bundle()) == [
        ("a.txt", "altered"),
        ("b.txt", "missing"),
        ("c.txt", "unlisted"),
    ]
    (tmp_path / data.MANIFEST).write_text("not a manifest line\n")
    with pytest.raises(ValueError, match="line 1"):
        data.read_manifest()


# --- The lesson sources (notebooks/src/*.py, jupytext percent format) ---------------------------


def builder():
    import importlib.util

    path = NOTEBOOKS.parent / "scripts" / "build_notebooks.py"
    spec = importlib.util.spec_from_file_location("build_notebooks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_source_cell_lands_in_a_notebook_and_no_source_has_placeholders():
    build = builder()
    for path in sorted(build.SRC.glob("[0-9]*.py")):
        source = build.read_source(path)
        targets = build.targets(source)
        assert targets, f"{path.name} names no notebooks"
        for tags in targets.values():
            assert set(tags) <= build.SELECTORS | {"lesson"}, (path.name, tags)
        for cell in source.cells:
            assert any(build.selected(cell, tags) for tags in targets.values()), (path.name, cell)
            assert "{{" not in cell.source, f"{path.name}: a placeholder in {cell.source[:80]!r}"


# Device and mode handling that the twins' common `device=None` makes framework-free.
DEVICE_OR_MODE = re.compile(r"\.to\(device\)|\.eval\(\)|\.cpu\(\)|\.detach\(\)|,? ?device=device")


def test_no_cell_exists_twice_only_to_differ_by_device_or_mode_handling():
    build = builder()
    for path in sorted(build.SRC.glob("[0-9]*.py")):
        cells = build.read_source(path).cells
        by_framework = {
            framework: [
                DEVICE_OR_MODE.sub("", c.source)
                for c in cells
                if c.cell_type == "code" and framework in c.metadata.get("tags", [])
            ]
            for framework in ("torch", "tensorflow")
        }
        twins = set(by_framework["torch"]) & set(by_framework["tensorflow"])
        assert not twins, f"{path.name}: write these once, with device=device: {twins}"


def test_colab_and_binder_links_in_the_sources_follow_the_repository_url():
    build = builder()
    text = "".join(path.read_text(encoding="utf-8") for path in build.SRC.glob("*.py"))
    colab = re.findall(r"https://colab\.research\.google\.com/github/[^)\s]+", text)
    binder = re.findall(r"https://mybinder\.org/v2/[^)\s]+", text)
    assert colab and binder
    for url in colab:
        assert url == build.colab_url(url.split("/notebooks/", 1)[1]), url
    assert set(binder) == {build.binder_url()}
