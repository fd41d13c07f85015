"""``rlcli eval``: rebuild env and network from a checkpoint's saved config and play episodes."""

from __future__ import annotations

import dataclasses
import time
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym

from rlcli.arguments import parse_path_and_options
from rlcli.build import find_checkpoint, settings_from_dict
from rlcli.checkpoint import load_checkpoint
from rlcli.envs import env_spec, errors_of_env, make_env, make_vector_env
from rlcli.errors import UserError, install_hint
from rlcli.evaluate import run_episodes
from rlcli.metrics import write_json
from rlcli.policy import Policy, observation_normalizer, restore_policy
from rlcli.rendering import prepare_headless_rendering, tracking_camera
from rlcli.settings import TrainConfig

__all__ = ["EvalRequest", "evaluate_command", "parse_eval_arguments", "restore_policy"]


@dataclasses.dataclass
class EvalRequest:
    """What ``rlcli eval`` was asked to do."""

    path: Path
    episodes: int = 10
    deterministic: bool | None = None
    """None: as the run's own evaluations (eval.deterministic; stochastic for Atari presets)."""
    video: bool = False
    video_episodes: int = 1
    seed: int = 123_456
    checkpoint: str = "final"
    output: Path | None = None


def parse_eval_arguments(arguments: list[str]) -> EvalRequest:
    """``<path> key=value ...`` -> EvalRequest; unknown keys and bad values are user errors."""
    kinds = {
        "episodes": int,
        "deterministic": bool,
        "video": bool,
        "video_episodes": int,
        "seed": int,
        "checkpoint": str,
        "output": Path,
    }
    path, values = parse_path_and_options("eval", arguments, kinds)
    request = EvalRequest(path, **values)
    if request.episodes < 1:
        raise UserError(f"episodes={request.episodes} must be >= 1")
    if request.checkpoint not in ("final", "best", "latest"):
        raise UserError(f"checkpoint={request.checkpoint!r} is not one of final, best, latest")
    return request


def make_video_env(config: TrainConfig) -> gym.Env:
    """One evaluation env that renders rgb frames; a MuJoCo robot stays in the frame."""
    camera = tracking_camera(str(env_spec(config.env.id).entry_point), config.env.kwargs)
    return make_env(
        config.env.id,
        {**config.env.kwargs, **camera},
        training=False,
        max_episode_steps=config.env.max_episode_steps,
        render_mode="rgb_array",
    )


def record_video(policy: Policy, request: EvalRequest, folder: Path) -> list[str]:
    """Record ``video_episodes`` episodes to mp4 files with gymnasium's RecordVideo."""
    try:
        import moviepy  # noqa: F401
    except ImportError:
        raise UserError(f"video=true needs moviepy: {install_hint('video')}") from None
    with warnings.catch_warnings():  # a new evaluation replaces the earlier eval-episode-N.mp4
        warnings.filterwarnings("ignore", message=".*Overwriting existing videos")
        env = gym.wrappers.RecordVideo(
            make_video_env(policy.config),
            str(folder),
            episode_trigger=lambda _: True,
            name_prefix="eval",
            disable_logger=True,
        )
    for episode in range(request.video_episodes):
        observation, _ = env.reset(seed=request.seed + episode)
        done = False
        while not done:
            action = policy.act(observation, bool(request.deterministic))
            observation, _, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
    env.close()
    names = (folder / f"eval-episode-{episode}.mp4" for episode in range(request.video_episodes))
    return [str(path) for path in names if path.is_file()]


def evaluate_command(request: EvalRequest) -> dict[str, Any]:
    """Evaluate, print mean +- std, write the result JSON; returns the result."""
    path = find_checkpoint(request.path, (request.checkpoint, "final", "latest", "best"))
    checkpoint = load_checkpoint(path)
    config = settings_from_dict(checkpoint["config"])
    with errors_of_env(config.env.id):
        return _evaluate(request, path, checkpoint, config)


def _evaluate(
    request: EvalRequest, path: Path, checkpoint: dict[str, Any], config: TrainConfig
) -> dict[str, Any]:
    if request.deterministic is None:
        request = dataclasses.replace(request, deterministic=config.eval.deterministic)
    if request.video:  # before any env is made: MuJoCo reads MUJOCO_GL when it first renders
        prepare_headless_rendering(str(env_spec(config.env.id).entry_point))
    envs = make_vector_env(
        config.env.id,
        request.episodes,
        config.env.max_episode_steps,
        config.env.kwargs,
        training=False,
    )
    agent = restore_policy(config, checkpoint, envs)
    normalizer = observation_normalizer(config, checkpoint, envs.single_observation_space.shape)
    result = run_episodes(agent, envs, request.seed, request.deterministic, normalizer)
    spaces = envs.single_observation_space, envs.single_action_space
    envs.close()
    run_dir = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    output = {
        "checkpoint": str(path),
        "env_id": config.env.id,
        "episodes": request.episodes,
        "deterministic": request.deterministic,
        "seed": request.seed,
        "mean_return": result.mean_return,
        "std_return": result.std_return,
        "returns": result.returns,
        "lengths": result.lengths,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if request.video:
        policy = Policy(agent, config, normalizer, *spaces, path)
        output["videos"] = record_video(policy, request, run_dir / "videos")
    destination = request.output or run_dir / f"eval_{path.stem}.json"
    write_json(destination, output)
    mode = "deterministic" if request.deterministic else "stochastic"
    print(
        f"{config.env.id}: mean return {result.mean_return:.2f} +- {result.std_return:.2f} "
        f"over {request.episodes} {mode} episodes ({path}); wrote {destination}"
    )
    for video in output.get("videos", []):
        print(f"video: {video}")
    return output
