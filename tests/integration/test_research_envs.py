"""MuJoCo and Atari presets train a few iterations and evaluate with their saved statistics."""

import subprocess
import sys

import pytest
import torch
from extras import ATARI_ENVS, MUJOCO_ENVS, needs_extra

from rlcli.build import train
from rlcli.checkpoint import load_checkpoint
from rlcli.evaluate_command import EvalRequest, evaluate_command
from rlcli.train import EVAL_SEED_OFFSET


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
    assert summary.global_step == 512
    statistics = load_checkpoint(tmp_path / "checkpoints" / "final.pt")["observation_normalizer"]
    assert statistics["count"] > 512  # the training observations, saved for rlcli eval
    assert_eval_replays_the_final_evaluation(config, summary, tmp_path)


def assert_eval_replays_the_final_evaluation(config, summary, run_dir) -> None:
    """rlcli eval rebuilds env, network and frozen observation statistics from the checkpoint
    alone: with the run's evaluation seed it replays the run's final evaluation exactly."""
    seed = config.seed + EVAL_SEED_OFFSET
    result = evaluate_command(EvalRequest(run_dir, episodes=config.eval.episodes, seed=seed))
    assert result["deterministic"] is config.eval.deterministic
    assert result["returns"] == summary.final_eval_returns


@pytest.mark.parametrize("env", [pytest.param(e, marks=needs_extra(e)) for e in ATARI_ENVS])
def test_atari_ppo_preset_trains_from_pixels_with_the_cnn(settings, tmp_path, env):
    config = settings(
        "algo=ppo",
        f"env={env}",
        "env.num_envs=2",
        "algo.num_steps=32",
        "total_timesteps=128",
        "env.max_episode_steps=200",
        "eval.deterministic=true",  # the preset samples (as RL Zoo); a greedy policy replays
    )
    assert config.network.architecture == "cnn"
    summary = train(config, tmp_path)
    assert summary.global_step == 128
    weights = load_checkpoint(tmp_path / "checkpoints" / "final.pt")["agent"]
    assert weights["encoder.convolutions.0.weight"].shape == torch.Size([32, 4, 8, 8])
    assert_eval_replays_the_final_evaluation(config, summary, tmp_path)


# Runs in its own process: MuJoCo's EGL contexts do not survive a second renderer in one process.
ROBOT_IN_LAST_FRAME = """
import sys
import mujoco
import numpy as np
from hydra import compose, initialize_config_module
from rlcli.build import settings_from_config
from rlcli.config import register_configs
from rlcli.envs import env_spec
from rlcli.evaluate_command import make_video_env
from rlcli.rendering import prepare_headless_rendering

register_configs()
with initialize_config_module(config_module="rlcli.configs", version_base="1.3"):
    config = settings_from_config(compose("train", [f"env={sys.argv[1]}"]))
prepare_headless_rendering(str(env_spec(config.env.id).entry_point))
env = make_video_env(config)  # what rlcli eval video=true records from
env.reset(seed=0)
env.render()  # the first frame of a video
model, data = env.unwrapped.model, env.unwrapped.data
for _ in range(50):  # a fast policy: 10 m forward in 50 steps (a trained cheetah runs ~10 m/s)
    env.step(np.zeros(env.action_space.shape))
    data.qpos[0] += 0.2
    mujoco.mj_forward(model, data)
last = env.render().copy()
robot = model.geom_bodyid != 0  # the same view with the robot hidden: the empty floor
model.geom_rgba[robot, 3] = 0
model.mat_rgba[model.geom_matid[robot & (model.geom_matid >= 0)], 3] = 0
empty = env.render().copy()
print((last != empty).any(axis=-1).mean())
"""


@pytest.mark.parametrize(
    "env", [pytest.param(e, marks=needs_extra(e)) for e in ("HalfCheetah-v5", "Hopper-v5")]
)
def test_mujoco_video_follows_the_robot(env):
    command = [sys.executable, "-c", ROBOT_IN_LAST_FRAME, env]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    robot_pixels = float(result.stdout.split()[-1])
    assert robot_pixels > 0.01, f"the robot covers {robot_pixels:.2%} of the last frame"
