"""What a learner sees in the saved notebooks: no stderr, no traceback, no red or interrupted
progress bar, no temporary path. And the training bar of a time-budgeted loop ends as done."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").rglob("*.ipynb"))
NOTEBOOKS = [p for p in NOTEBOOKS if ".ipynb_checkpoints" not in p.parts]
TEMP_PATH = re.compile(r"/tmp/|/var/folders/|ipykernel_\d+|\\AppData\\Local\\Temp")
# A text progress line that stopped short: "136/3000 [00:25<08:37]" (tqdm) or "12/50 ━━━" (Keras).
INTERRUPTED = re.compile(r"\b(\d+)/(\d+) (?:\[|━)")


def _outputs(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for index, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []):
            yield index, output
    yield from ((None, state) for state in nb.get("metadata", {}).get("widgets", {}).get(
        "application/vnd.jupyter.widget-state+json", {}).get("state", {}).values())  # fmt: skip


def _text(output) -> str:
    """The text a reader sees; for a widget, its state is checked instead (its text/plain is the
    repr at display time, e.g. a progress bar's "0/80" before it ran)."""
    if output.get("output_type") == "stream":
        return "".join(output.get("text", ""))
    data = output.get("data", {})
    if "application/vnd.jupyter.widget-view+json" in data:
        return ""
    return "".join(data.get("text/plain", "")) + "".join(data.get("text/html", ""))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_saved_notebook_shows_no_error_stderr_red_bar_or_temporary_path(path):
    problems = []
    for index, output in _outputs(path):
        where = f"cell {index}" if index is not None else "widget state"
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            problems.append(f"{where}: stderr {_text(output)[:80]!r}")
        if output.get("output_type") == "error":
            problems.append(f"{where}: traceback {output.get('ename')}")
        state = output.get("state", {})
        if state.get("bar_style") == "danger":
            problems.append(f"{where}: a red progress bar")
        if state.get("_model_name") == "FloatProgressModel" and state.get("value", 0) < state.get(
            "max", 0
        ):
            problems.append(f"{where}: an interrupted progress bar {state['value']}/{state['max']}")
        text = _text(output) + str(
            state.get("value", "") if state.get("_model_name") == "HTMLModel" else ""
        )
        for done, total in INTERRUPTED.findall(text):
            if int(done) < int(total):
                problems.append(f"{where}: an interrupted progress line {done}/{total}")
        if TEMP_PATH.search(text):
            problems.append(f"{where}: a temporary path {TEMP_PATH.search(text).group(0)!r}")
    assert not problems, f"{path.name}: " + "; ".join(problems[:8])


def test_a_time_budgeted_bar_ends_full_and_green():
    pytest.importorskip("ipywidgets")
    from tqdm.notebook import tqdm as notebook_tqdm

    from lessonkit.progress import end_bar

    bar = notebook_tqdm(total=3000, desc="training")
    bar.update(136)
    end_bar(bar)
    _, widget, _ = bar.container.children
    assert bar.total == bar.n == 136 and widget.max == 136 and widget.value == 136
    assert widget.bar_style == "success"


def test_both_training_loops_end_their_bar_as_done_when_the_time_runs_out(capsys):
    torch = pytest.importorskip("torch")
    import numpy as np

    from lessonkit.models.char_rnn import CharRNNConfig
    from lessonkit.torch.char_rnn import CharRNN
    from lessonkit.torch.train import train

    model = CharRNN(CharRNNConfig(vocab_size=5, d_embed=2, d_model=4, n_layers=1))
    batch = (np.zeros((2, 3), np.int64), np.zeros((2, 3), np.int64))
    history = train(model, lambda step: batch, steps=10_000, max_seconds=0.2)
    err = capsys.readouterr().err
    ran = len(history["loss"])
    assert 0 < ran < 10_000 and f"{ran}/{ran} [" in err.replace("\r", "\n").splitlines()[-1]
    del torch
