"""Env construction turns missing optional packages into one-line errors naming the extra."""

import gymnasium as gym
import pytest

from rlcli import atari
from rlcli.envs import make_env
from rlcli.errors import UserError


def test_a_missing_mujoco_names_the_extra(monkeypatch):
    def make_without_mujoco(*args, **kwargs):
        raise gym.error.DependencyNotInstalled("MuJoCo is not installed, run pip install mujoco")

    monkeypatch.setattr(gym, "make", make_without_mujoco)
    with pytest.raises(
        UserError, match=r"env.id='Hopper-v5' needs .*pip install -e '\.\[mujoco\]'"
    ):
        make_env("Hopper-v5")


def test_a_missing_ale_py_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def import_without_ale(name, *args, **kwargs):
        if name == "ale_py":
            raise ImportError("No module named 'ale_py'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", import_without_ale)
    with pytest.raises(UserError, match=r"pip install -e '\.\[atari\]'"):
        atari.register_atari_envs()
