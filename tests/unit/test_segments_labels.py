"""Segments cut from a hand-made rollout, the synthetic teacher and the labels file."""

from __future__ import annotations

import json
import multiprocessing

import pytest
import torch

from rlcli.errors import UserError
from rlcli.rlhf.labellers import SyntheticLabeller
from rlcli.rlhf.labels import append_labels, read_labels
from rlcli.rlhf.reward_stage import synthetic_labels
from rlcli.rlhf.segments import Segments, cut_segments, termination_pairs
from rlcli.settings import LabellerConfig, RlhfConfig


def test_segments_stay_inside_episodes_and_terminations_are_padded():
    # One env, 10 steps: an episode terminates at step 4, step 5 is the ignored autoreset row,
    # a second episode runs from step 6 and is truncated at step 9.
    steps = 10
    inputs = torch.arange(steps, dtype=torch.float32).reshape(steps, 1, 1)
    rewards = torch.ones(steps, 1)
    valid = torch.ones(steps, 1, dtype=torch.bool)
    valid[5] = False
    terminations = torch.zeros(steps, 1, dtype=torch.bool)
    truncations = torch.zeros(steps, 1, dtype=torch.bool)
    terminations[4], truncations[9] = True, True
    segments = cut_segments(inputs, rewards, valid, terminations, truncations, length=2)
    starts = segments.inputs[:, 0, 0].tolist()
    # full segments [0,1] [2,3] [6,7] [8,9]; the terminated episode's last step padded: [4, pad]
    assert sorted(starts) == [0.0, 2.0, 4.0, 6.0, 8.0]
    padded = starts.index(4.0)
    assert segments.mask[padded].tolist() == [True, False]
    assert segments.true_rewards[padded].tolist() == [1.0, 0.0]  # failing early returns less
    assert segments.mask.sum() == 9


def _segments_ending_at(ended: list[int], count: int = 10, length: int = 3) -> Segments:
    """``count`` segments of which those at ``ended`` end in a termination after one step."""
    mask = torch.ones(count, length, dtype=torch.bool)
    mask[ended, 1:] = False
    return Segments(torch.zeros(count, length, 1), torch.zeros(count, length), mask)


def test_termination_pairs_put_an_ending_segment_against_another():
    generator = torch.Generator().manual_seed(0)
    first, second = termination_pairs(_segments_ending_at([3, 7]), 50, generator)
    assert len(first) == len(second) == 50
    assert set(first.tolist()) == {3, 7}  # both ending segments are drawn, nothing else
    assert (first != second).all()
    assert len(set(second.tolist())) > 2  # the other side ranges over the pool


def test_no_termination_pairs_without_an_ending_segment_or_a_count():
    generator = torch.Generator().manual_seed(0)
    assert len(termination_pairs(_segments_ending_at([]), 5, generator)[0]) == 0
    state = generator.get_state()
    assert len(termination_pairs(_segments_ending_at([3]), 0, generator)[0]) == 0
    assert torch.equal(generator.get_state(), state)  # draws nothing: streams stay as they were


def test_stage_two_labels_hold_the_asked_share_of_termination_pairs():
    rlhf = RlhfConfig(termination_pair_fraction=0.25)
    labels = synthetic_labels(
        _segments_ending_at([4], count=40), 40, rlhf, torch.Generator().manual_seed(0)
    )
    assert len(labels) == 40
    assert sum("seg-000004" in (label["left"], label["right"]) for label in labels) >= 10


def test_the_oracle_prefers_the_higher_true_return():
    generator = torch.Generator().manual_seed(0)
    teacher = SyntheticLabeller(LabellerConfig(), generator)
    a = torch.tensor([[1.0, 1.0], [0.0, 0.0], [1.0, 0.0]])
    b = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    assert teacher.label(a, b).tolist() == [1.0, 0.0, 0.5]
    myopic = SyntheticLabeller(LabellerConfig(discount=0.5), generator)  # the last step counts most
    assert myopic.label(a, b).tolist() == [1.0, 0.0, 0.0]
    wrong = SyntheticLabeller(LabellerConfig(mistake_rate=1.0), generator)
    assert wrong.label(a[:2], b[:2]).tolist() == [0.0, 1.0]
    lenient = SyntheticLabeller(LabellerConfig(equal_threshold=5.0), generator)
    assert lenient.label(a, b).tolist() == [0.5, 0.5, 0.5]


def test_a_boltzmann_teacher_errs_more_on_close_pairs():
    generator = torch.Generator().manual_seed(0)
    teacher = SyntheticLabeller(LabellerConfig(temperature=1.0), generator)
    close = teacher.label(torch.full((4000, 1), 0.2), torch.zeros(4000, 1)).mean()
    far = teacher.label(torch.full((4000, 1), 4.0), torch.zeros(4000, 1)).mean()
    assert 0.5 < float(close) < 0.6 < 0.95 < float(far)


def test_labels_file_reads_pairs_rankings_and_skips(tmp_path):
    path = tmp_path / "labels.jsonl"
    append_labels(
        path,
        [
            {"left": "seg-1", "right": "seg-2", "preference": "right", "labeller": "ana"},
            {"left": "seg-1", "right": "seg-3", "preference": "skip", "labeller": "ana"},
            {"ranking": ["seg-3", "seg-1", "seg-2"], "labeller": "ben"},
        ],
    )
    labels = read_labels(path)
    assert [(label.left, label.right, label.preference) for label in labels] == [
        ("seg-1", "seg-2", 0.0),
        ("seg-3", "seg-1", 1.0),
        ("seg-3", "seg-2", 1.0),
        ("seg-1", "seg-2", 1.0),
    ]
    assert [label.weight for label in labels] == pytest.approx([1.0, 1 / 3, 1 / 3, 1 / 3])
    assert [label.line for label in labels] == [1, 3, 3, 3]


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "not a JSON object"),
        ('{"left": "seg-1", "preference": "left"}', "missing right"),
        ('{"left": "a", "right": "b", "preference": "better"}', "preference='better'"),
    ],
)
def test_a_malformed_line_is_reported_by_number(tmp_path, line, message):
    path = tmp_path / "labels.jsonl"
    path.write_text('{"left": "a", "right": "b", "preference": "left"}\n' + line + "\n")
    with pytest.raises(UserError, match=f"labels.jsonl:2: .*{message}"):
        read_labels(path)


def _append_many(path: str, writer: int) -> None:
    from pathlib import Path

    for index in range(200):
        append_labels(
            Path(path), [{"left": f"w{writer}", "right": str(index), "preference": "left"}]
        )


def test_concurrent_appends_never_interleave_or_lose_lines(tmp_path):
    path = tmp_path / "labels.jsonl"
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_append_many, args=(str(path), w)) for w in range(3)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    lines = path.read_text().splitlines()
    assert len(lines) == 600
    records = [json.loads(line) for line in lines]
    assert {(r["left"], r["right"]) for r in records} == {
        (f"w{w}", str(i)) for w in range(3) for i in range(200)
    }
