"""Every lesson notebook has its quizzes, self-checked exercises and challenge; the worked
solutions pass their checks and the learner's TODO cells report "not done yet"; data/ matches
its manifest."""

import ast
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from lessonkit import data, exercises
from lessonkit.exercises import Feedback
from lessonkit.text import GPT2_FILES

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
LESSONS = {  # lesson number -> the stem shared by its two framework notebooks and its solutions
    1: "01_generative_rnn",
    2: "02_attention_seq2seq",
    3: "03_transformers",
    4: "04_bert",
    5: "05_gpt2_internals",
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


def test_manifest_agrees_with_the_hashes_the_loaders_check():
    manifest = data.read_manifest()
    for work in data.WORKS:
        assert manifest[f"shakespeare/{work.name}.txt"] == work.sha256
    for name, digest in GPT2_FILES.items():
        assert manifest[f"gpt2/{name}"] == digest


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
