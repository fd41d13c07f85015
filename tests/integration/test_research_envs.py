"""MuJoCo and Atari presets train a few iterations and evaluate with their saved statistics."""

import math

import pytest
import torch
from extras import ATARI_ENVS, MUJOCO_ENVS, needs_extra

from rlcli.build import train
from rlcli.checkpoint import load_checkpoint
from rlcli.evaluate_command import EvalRequest, evaluate_command


@pytest.mark.parametrize("env", [pytest.param(e, marks=needs_extra(e)) for e in MUJOCO_ENVS])
def test_mujoco_ppo_preset_trains_and_evaluates_with_its_normalisation(settings, tmp_path, env):
    config = settings(
        "algo=ppo",
        f"env={env}",
        "algo.num_steps=256",
        "algo.update_epochs=1",
        "total_timesteps=512",
        "env.max_episode_steps=100",
    )
    assert config.env.normalize_observation and config.env.normalize_reward
    summary = train(config, tmp_path)
    assert summary.global_step == 512 and math.isfinite(summary.final_eval_mean_return)
    statistics = load_checkpoint(tmp_path / "checkpoints" / "final.pt")["observation_normalizer"]
    assert statistics["count"] > 512  # the training observations, saved for rlcli eval
    result = evaluate_command(EvalRequest(tmp_path, episodes=2))
    assert len(result["returns"]) == 2 and all(math.isfinite(r) for r in result["returns"])


@pytest.mark.parametrize("env", [pytest.param(e, marks=needs_extra(e)) for e in ATARI_ENVS])
def test_atari_ppo_preset_trains_from_pixels_with_the_cnn(settings, tmp_path, env):
    config = settings(
        "algo=ppo",
        f"env={env}",
        "env.num_envs=2",
        "algo.num_steps=32",
        "total_timesteps=128",
        "env.max_episode_steps=200",
    )
    assert config.network.architecture == "cnn"
    summary = train(config, tmp_path)
    assert summary.global_step == 128 and summary.final_eval_mean_return >= 0
    weights = load_checkpoint(tmp_path / "checkpoints" / "final.pt")["agent"]
    assert weights["encoder.convolutions.0.weight"].shape == torch.Size([32, 4, 8, 8])
