"""The corpus: one split by play, checked files, and (inputs, targets) windows."""

import shutil

import numpy as np
import pytest

from lessonkit import data


def test_every_work_is_in_exactly_one_split_and_splits_are_disjoint():
    names = [w.name for w in data.WORKS]
    assert len(names) == len(set(names)) == 42
    by_split = {s: {w.name for w in data.works(s)} for s in data.SPLITS}
    assert sum(len(v) for v in by_split.values()) == 42
    assert not (by_split["train"] & by_split["validation"]) and not (
        by_split["train"] & by_split["test"]
    )


def test_held_out_splits_are_balanced_by_genre():
    for split, per_genre in (("validation", 2), ("test", 3)):
        for genre in data.GENRES:
            assert len(data.works(split, genre)) == per_genre


def test_folio_genre_counts_and_exceptions():
    assert [len(data.works(genre=g)) for g in data.GENRES] == [14, 10, 12]
    assert data.WORKS_BY_NAME["pericles"].genre is None
    assert data.WORKS_BY_NAME["troilus_and_cressida"].genre == "tragedy"


def test_the_works_table_and_the_manifest_list_the_same_files():
    listed = {name for name in data.read_manifest() if name.startswith("shakespeare/")}
    assert listed == {f"shakespeare/{work.name}.txt" for work in data.WORKS}


def test_altered_missing_or_unlisted_file_gives_a_clear_error(tmp_path, monkeypatch):
    shutil.copytree(data.data_dir() / "shakespeare", tmp_path / "shakespeare")
    manifest = (data.data_dir() / data.MANIFEST).read_text()
    unlisted = "".join(line for line in manifest.splitlines(True) if "/othello.txt" not in line)
    (tmp_path / data.MANIFEST).write_text(unlisted)
    (tmp_path / "shakespeare" / "hamlet.txt").write_text("To be or not to be")
    (tmp_path / "shakespeare" / "macbeth.txt").unlink()
    monkeypatch.setenv("LESSONKIT_DATA", str(tmp_path))
    data.load_work.cache_clear()
    try:
        with pytest.raises(ValueError, match="altered.*make data"):
            data.load_work("hamlet")
        with pytest.raises(FileNotFoundError, match="macbeth.txt is missing.*make data"):
            data.load_work("macbeth")
        with pytest.raises(ValueError, match="othello.txt is not listed in .*SHA256SUMS"):
            data.load_work("othello")
        (tmp_path / data.MANIFEST).unlink()
        with pytest.raises(FileNotFoundError, match="SHA256SUMS is missing"):
            data.load_work("lear")
        with pytest.raises(ValueError, match="unknown work"):
            data.load_work("hamlet_ii")
    finally:
        data.load_work.cache_clear()


def test_windows_targets_are_inputs_shifted_by_one():
    inputs, targets = data.windows(np.arange(10), n_chars=4)
    assert inputs.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert targets.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]
    inputs, _ = data.windows(np.arange(10), n_chars=4, stride=3)
    assert inputs[:, 0].tolist() == [0, 3]


def test_random_batch_is_seeded_and_shifted():
    ids = np.arange(1000)
    x1, y1 = data.random_batch(ids, 16, 8, np.random.default_rng(3))
    x2, _ = data.random_batch(ids, 16, 8, np.random.default_rng(3))
    assert x1.shape == (8, 16) and (x1 == x2).all() and (y1 == x1 + 1).all()


def test_windows_reject_too_short_input():
    with pytest.raises(ValueError, match="at least"):
        data.windows(np.arange(4), n_chars=4)
