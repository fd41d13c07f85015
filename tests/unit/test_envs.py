"""Env construction turns missing optional packages into one-line errors naming the extra."""

import gymnasium as gym
import pytest

from rlcli import atari, envs
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


@pytest.mark.parametrize(
    "env_id, num_envs, cores, expected",
    [
        ("HalfCheetah-v5", 8, 16, "async"),  # MuJoCo with cores to spare
        ("HalfCheetah-v5", 8, 2, "sync"),  # the workers would compete with the learner
        ("HalfCheetah-v5", 1, 16, "sync"),  # one copy: nothing to step in parallel
        ("HalfCheetah-v5", 4, 16, "sync"),  # a short step does not repay the round trip
        ("ALE/Breakout-v5", 2, 16, "async"),  # a long one does
        ("LunarLander-v3", 16, 16, "async"),  # Box2D with many copies
        ("LunarLander-v3", 4, 16, "sync"),
        ("CartPole-v1", 64, 16, "sync"),  # numpy-vectorised: faster in one process
    ],
)
def test_auto_vectorization_is_async_for_slow_envs_with_free_cores(
    monkeypatch, env_id, num_envs, cores, expected
):
    monkeypatch.setattr(envs, "available_cores", lambda: cores)
    assert envs.pick_vectorization(envs.env_spec(env_id), num_envs, "auto") == expected
    assert envs.pick_vectorization(envs.env_spec(env_id), num_envs, "sync") == "sync"


def test_async_envs_step_in_workers_and_report_statistics_like_sync_ones():
    vector_env = envs.make_vector_env("Pendulum-v1", 2, vectorization="async")
    assert isinstance(vector_env, gym.vector.AsyncVectorEnv)
    assert envs.records_episode_statistics(vector_env) is False
    vector_env.close()
