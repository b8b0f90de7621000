"""Quizzes: question data checked on load, grading without widgets, and a panel with Check buttons.

A quiz is plain data (``lessonkit/quizzes/<lesson>.json`` holds a lesson's ``pre`` and ``post``
quizzes); :meth:`Quiz.grade` answers with the :class:`lessonkit.exercises.Feedback` the exercise
checks use, and :attr:`Quiz.widget` shows the questions with radio buttons or number boxes.
Displayed, a quiz also carries a static view (the questions, the answers folded away) for viewers
where widgets do not run.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import ipywidgets as widgets
import numpy as np

from .exercises import Feedback
from .widgets import Panel

QUIZ_DIR = Path(__file__).parent / "quizzes"


def check_question(number: int, item: object) -> dict:
    """Validate one quiz question; raise ``ValueError`` naming it (1-based) and what is wrong.

    A multiple-choice question is ``{"question", "options", "answer" (an option index),
    "explanations" (one per option)}``; a numeric one is ``{"question", "answer" (a number),
    "tolerance" (optional, >= 0), "explanation"}``.
    """
    if not isinstance(item, dict) or not isinstance(item.get("question"), str):
        raise ValueError(f"quiz question {number}: needs a 'question' text, got {item!r}")
    name = f"quiz question {number} ({item['question'][:60]!r})"
    if "options" in item:
        options, explanations = item["options"], item.get("explanations")
        if not isinstance(options, list) or len(options) < 2:
            raise ValueError(f"{name}: needs at least two options")
        if not isinstance(explanations, list) or len(explanations) != len(options):
            raise ValueError(
                f"{name}: needs one explanation per option ({len(options)}), "
                f"got {0 if not isinstance(explanations, list) else len(explanations)}"
            )
        missing = [
            i for i, text in enumerate(explanations) if not isinstance(text, str) or not text
        ]
        if missing:
            raise ValueError(f"{name}: the explanation of option(s) {missing} is missing")
        answer = item.get("answer")
        if (
            not isinstance(answer, int)
            or isinstance(answer, bool)
            or not 0 <= answer < len(options)
        ):
            raise ValueError(
                f"{name}: answer must be an option index 0..{len(options) - 1}, got {answer!r}"
            )
    else:
        answer, tolerance = item.get("answer"), item.get("tolerance", 0)
        if not isinstance(answer, (int, float)) or isinstance(answer, bool):
            raise ValueError(f"{name}: a numeric question needs a number 'answer', got {answer!r}")
        if not isinstance(tolerance, (int, float)) or tolerance < 0:
            raise ValueError(f"{name}: tolerance must be a number >= 0, got {tolerance!r}")
        if not isinstance(item.get("explanation"), str) or not item["explanation"]:
            raise ValueError(f"{name}: the explanation is missing")
    return item


def _without_right_prefix(explanation: str) -> str:
    """``"Right: it is ..."`` -> ``"It is ..."``: the feedback already says "is right"."""
    if explanation.startswith("Right: "):
        rest = explanation.removeprefix("Right: ")
        return rest[:1].upper() + rest[1:]
    return explanation


class Quiz(Panel):
    """A short quiz: multiple-choice and numeric questions with a Check button and a score.

    ``questions`` is plain data (see :func:`check_question`). :meth:`grade` works without
    widgets; :attr:`widget` shows radio buttons or a number box per question.
    """

    def __init__(self, questions: Sequence[Mapping], title: str = "Quiz"):
        super().__init__()
        if not questions:
            raise ValueError("a quiz needs at least one question")
        self.questions = [check_question(i + 1, dict(q)) for i, q in enumerate(questions)]
        self.title = title
        self.results: list[Feedback | None] = [None] * len(self.questions)
        self._widget: widgets.VBox | None = None

    @classmethod
    def from_file(cls, path_or_lesson_name: str, part: str | None = None) -> Quiz:
        """Load a JSON quiz: a path, or a lesson name such as ``"lesson1"`` shipped in
        ``lessonkit/quizzes/``. A file holding ``{"pre": [...], "post": [...]}`` needs ``part``."""
        path = Path(path_or_lesson_name)
        if not path.suffix:
            path = QUIZ_DIR / f"{path_or_lesson_name}.json"
        if not path.is_file():
            raise ValueError(f"no quiz file {path}")
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            if part not in data:
                raise ValueError(
                    f"{path.name} holds the parts {sorted(data)}; pass part=one of them"
                )
            lesson = path.stem.removeprefix("lesson")  # "1", "5a", "1_lab"
            number, _, rest = lesson.partition("_")
            known = number[:1].isdigit() and path.stem != lesson
            name = f"Lesson {number}{' ' + rest if rest else ''}" if known else path.stem
            data, title = data[part], f"{name} · {part}-quiz"
        else:
            title = path.stem
        try:
            return cls(data, title=title)
        except ValueError as error:
            raise ValueError(f"{path.name}: {error}") from None

    def grade_one(self, index: int, answer: float | int | None) -> Feedback:
        """Feedback on one answer: passed/failed with the explanation, or "not done" if None."""
        q = self.questions[index]
        label = f"Q{index + 1}"
        if answer is None:
            return Feedback("not done", f"{label}: not answered yet")
        if "options" in q:
            if not isinstance(answer, (int, np.integer)) or not 0 <= answer < len(q["options"]):
                return Feedback("failed", f"{label}: {answer!r} is not one of the options")
            right = int(answer) == q["answer"]
            verdict = (
                "right" if right else f"not quite (the answer is {q['options'][q['answer']]!r})"
            )
            why = _without_right_prefix(q["explanations"][answer])
            text = f"{label}: {q['options'][answer]!r} is {verdict}. {why}"
        else:
            right = abs(float(answer) - q["answer"]) <= q.get("tolerance", 0)
            verdict = "right" if right else f"not quite (the answer is {q['answer']:,})"
            why = _without_right_prefix(q["explanation"])
            text = f"{label}: {answer:,} is {verdict}. {why}"
        return Feedback("passed" if right else "failed", text)

    def grade(self, answers: Sequence[float | int | None]) -> list[Feedback]:
        """One :class:`lessonkit.exercises.Feedback` per question (None = not answered)."""
        if len(answers) != len(self.questions):
            raise ValueError(f"got {len(answers)} answers for {len(self.questions)} questions")
        return [self.grade_one(i, a) for i, a in enumerate(answers)]

    @property
    def widget(self) -> widgets.VBox:
        """Built on first use: each question with its inputs, a Check button and its feedback."""
        if self._widget is None:
            self._widget = self._build()
        return self._widget

    def _build(self) -> widgets.VBox:
        self.score = widgets.HTML(self._score_text())
        boxes = []
        self.inputs = []
        for i, q in enumerate(self.questions):
            if "options" in q:
                choice = widgets.RadioButtons(
                    options=[(text, k) for k, text in enumerate(q["options"])],
                    value=None,
                    layout=widgets.Layout(width="auto"),
                )
            else:
                choice = widgets.FloatText(description="answer")
            feedback = widgets.HTML("")
            button = widgets.Button(description="Check")
            self.on_click(button, self._check, i, choice, feedback)
            self.inputs.append(choice)
            question = widgets.HTML(f"<b>{i + 1}. {html.escape(q['question'])}</b>")
            boxes.append(widgets.VBox([question, choice, button, feedback]))
        header = widgets.HTML(f"<h4>{html.escape(self.title)}</h4>")
        return widgets.VBox([header, *boxes, self.score, self.message, self.static])

    def _check(self, index: int, choice: widgets.ValueWidget, out: widgets.HTML) -> None:
        result = self.grade_one(index, choice.value)
        self.results[index] = result
        out.value = result._repr_html_()
        self.score.value = self._score_text()

    def describe(self) -> str:
        return f"{self.title!r}, {len(self.questions)} questions"

    def static_html(self) -> str:
        """Every question with its choices; the answer and the explanations folded away in a
        ``<details>`` under each, so a reader of a saved notebook can still try first."""
        items = []
        for q in self.questions:
            if "options" in q:
                choices = "".join(f"<li>{html.escape(o)}</li>" for o in q["options"])
                asked = f"<ol type='a'>{choices}</ol>"
                why = "".join(
                    f"<li><i>{html.escape(option)}</i>: {html.escape(text)}</li>"
                    for option, text in zip(q["options"], q["explanations"], strict=True)
                )
                answer = f"<b>{html.escape(q['options'][q['answer']])}</b><ul>{why}</ul>"
            else:
                asked = "<div><i>answer with a number</i></div>"
                spread = f" (± {q['tolerance']:,})" if q.get("tolerance") else ""
                answer = f"<b>{q['answer']:,}</b>{spread}. {html.escape(q['explanation'])}"
            items.append(
                f"<li><b>{html.escape(q['question'])}</b>{asked}"
                f"<details><summary>answer</summary>{answer}</details></li>"
            )
        return f"<h4>{html.escape(self.title)}</h4><ol>{''.join(items)}</ol>"

    def _score_text(self) -> str:
        right = sum(1 for r in self.results if r is not None and r.passed)
        checked = sum(1 for r in self.results if r is not None)
        return f"<b>Score: {right} / {len(self.questions)}</b> ({checked} checked)"
