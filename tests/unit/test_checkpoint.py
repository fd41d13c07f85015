"""Checkpoints are written atomically and loaded weights-only."""

import pytest
import torch

from rlcli.checkpoint import load_checkpoint, restore_rng_states, rng_states, save_checkpoint
from rlcli.errors import UserError


def test_round_trip_and_no_temporary_left(tmp_path):
    path = tmp_path / "checkpoints" / "latest.pt"
    payload = {"agent": {"w": torch.ones(2)}, "counters": {"global_step": 5}, "config": {"a": [1]}}
    save_checkpoint(path, payload)
    loaded = load_checkpoint(path)
    assert torch.equal(loaded["agent"]["w"], torch.ones(2))
    assert loaded["counters"] == {"global_step": 5}
    assert [p.name for p in path.parent.iterdir()] == ["latest.pt"]


def test_failed_write_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "latest.pt"
    save_checkpoint(path, {"version": 1})

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    with pytest.raises(RuntimeError):
        save_checkpoint(path, {"version": 2, "bad": Unpicklable()})
    assert load_checkpoint(path) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["latest.pt"]


class RunsCode:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_checkpoint_with_code_is_refused_and_code_does_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    torch.save({"agent": RunsCode()}, path)
    with pytest.raises(UserError, match="cannot be loaded safely"):
        load_checkpoint(path)
    assert not (tmp_path / "PWNED").exists()


def test_truncated_checkpoint_is_a_user_error(tmp_path):
    path = tmp_path / "cut.pt"
    save_checkpoint(path, {"agent": {"w": torch.ones(1000)}})
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(UserError, match="corrupt, truncated"):
        load_checkpoint(path)


def test_rng_states_restore_exactly():
    states = rng_states()
    first = torch.rand(3)
    restore_rng_states(states)
    assert torch.equal(torch.rand(3), first)
