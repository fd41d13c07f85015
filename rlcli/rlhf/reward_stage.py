"""Stage 2 on its own: learn a reward model from comparisons of a policy's segments.

Rolls out a policy (the SFT policy in the pipeline), saves its segments, gets labels (from the
synthetic teacher, or from a labels file people wrote) and fits the ensemble. The stage directory
holds segments.npz, labels.jsonl, reward_model.pt, summary.json and TensorBoard events.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlcli.build.objects import make_agent, seed_everything
from rlcli.build.preferences import reward_model_payload
from rlcli.checkpoint import save_checkpoint
from rlcli.envs import make_env, make_vector_env
from rlcli.errors import UserError
from rlcli.evaluate_command import observation_normalizer
from rlcli.metrics import MetricsWriter, write_json
from rlcli.rlhf.labellers import SyntheticLabeller
from rlcli.rlhf.labels import LABELS_FILE, Label, append_labels, now, read_labels
from rlcli.rlhf.reward_model import Comparisons, RewardModel, fit_reward_model, segment_returns
from rlcli.rlhf.segments import (
    SEGMENTS_FILE,
    Segments,
    action_feature_size,
    load_segments,
    random_pairs,
    reward_input_size,
    rollout_reward_inputs,
    rollout_segments,
    save_segments,
    segment_ids,
    termination_pairs,
)
from rlcli.rollout import RolloutCollector
from rlcli.settings import RewardModelConfig, RlhfConfig, TrainConfig


def roll_out_segments(
    policy_config: TrainConfig,
    checkpoint: dict[str, Any],
    steps: int,
    length: int,
    next_observation: bool = False,
) -> Segments:
    """Segments of ``length`` from about ``steps`` env steps of the checkpoint's policy (sampling
    its actions, as the RL stage will)."""
    seed_everything(policy_config.seed)
    env = policy_config.env
    envs = make_vector_env(env.id, env.num_envs, env.max_episode_steps, env.kwargs)
    agent = make_agent(policy_config, envs)
    agent.load_state_dict(checkpoint["agent"])
    normalizer = observation_normalizer(
        policy_config, checkpoint, envs.single_observation_space.shape
    )
    collector = RolloutCollector(
        envs,
        max(length, steps // envs.num_envs),
        policy_config.seed + 1,
        torch.device("cpu"),
        normalizer,
        keep_raw_observations=True,
    )
    rollout = collector.collect(agent)
    inputs = rollout_reward_inputs(
        rollout, collector.next_raw_observations, envs.single_action_space, next_observation
    )
    segments = rollout_segments(rollout, inputs, length)
    collector.close()
    return segments


def input_layout_of(policy_config: TrainConfig, config: RewardModelConfig) -> tuple[int, int]:
    """(input width, action feature width) of the env's reward-model inputs."""
    env = make_env(policy_config.env.id, policy_config.env.kwargs)
    try:
        return (
            reward_input_size(env.observation_space, env.action_space, config.use_next_observation),
            action_feature_size(env.action_space),
        )
    finally:
        env.close()


def synthetic_labels(
    segments: Segments, count: int, rlhf: RlhfConfig, generator: torch.Generator
) -> list[dict]:
    """``count`` random pairs answered by the synthetic teacher, as labels-file lines."""
    ending_first, ending_second = termination_pairs(
        segments, round(count * rlhf.termination_pair_fraction), generator
    )
    first, second = random_pairs(len(segments), count - len(ending_first), generator)
    first, second = torch.cat([first, ending_first]), torch.cat([second, ending_second])
    labeller = SyntheticLabeller(rlhf.labeller, generator)
    preferences = labeller.label(segments.true_rewards[first], segments.true_rewards[second])
    if rlhf.shuffle_labels:
        preferences = preferences[torch.randperm(count, generator=generator)]
    answer = {1.0: "left", 0.0: "right", 0.5: "equal"}
    ids = segment_ids(len(segments))
    stamp = now()
    return [
        {
            "left": ids[a],
            "right": ids[b],
            "preference": answer[float(p)],
            "labeller": "synthetic",
            "time": stamp,
        }
        for a, b, p in zip(first.tolist(), second.tolist(), preferences.tolist(), strict=True)
    ]


def comparisons_from_labels(
    labels: list[Label], segments: Segments, labels_path: Path
) -> Comparisons:
    """Tensors of the labelled pairs; a label naming an unknown segment is an error."""
    index = {name: row for row, name in enumerate(segment_ids(len(segments)))}
    for label in labels:
        for name in (label.left, label.right):
            if name not in index:
                raise UserError(
                    f"{labels_path}:{label.line}: segment {name!r} is not in {SEGMENTS_FILE} "
                    f"(it has seg-000000 .. seg-{len(segments) - 1:06d})"
                )
    if not labels:
        raise UserError(f"{labels_path} holds no usable labels (all skipped or empty)")
    left = torch.tensor([index[label.left] for label in labels])
    right = torch.tensor([index[label.right] for label in labels])
    return Comparisons(
        segments.select(left),
        segments.select(right),
        torch.tensor([label.preference for label in labels]),
        torch.tensor([label.weight for label in labels]),
    )


def correlation(model: RewardModel, segments: Segments) -> float:
    """Pearson correlation between predicted and true segment returns."""
    with torch.no_grad():
        predicted = segment_returns(model, segments).mean(0).numpy()
    true = segments.true_rewards.sum(-1).numpy()
    if predicted.std() == 0 or true.std() == 0:
        return float("nan")
    return float(np.corrcoef(predicted, true)[0, 1])


def run_reward_model_stage(
    policy_config: TrainConfig,
    checkpoint: dict[str, Any],
    stage_dir: Path,
    rlhf: RlhfConfig,
    steps: int,
    labels: int,
) -> dict[str, Any]:
    """Roll out, label, fit and save; returns the stage summary (also summary.json)."""
    started = time.perf_counter()
    stage_dir.mkdir(parents=True, exist_ok=True)
    segments_path, labels_path = stage_dir / SEGMENTS_FILE, stage_dir / LABELS_FILE
    if segments_path.is_file():  # labelled by people since the last run: keep their segments
        segments = load_segments(segments_path)
    else:
        segments = roll_out_segments(
            policy_config,
            checkpoint,
            steps,
            rlhf.segment_length,
            rlhf.reward_model_config.use_next_observation,
        )
        save_segments(segments_path, segments)
    input_size, action_size = input_layout_of(policy_config, rlhf.reward_model_config)
    if segments.inputs.shape[-1] != input_size:
        raise UserError(
            f"{segments_path} holds inputs of width {segments.inputs.shape[-1]}; this reward "
            f"model takes {input_size} (rlhf.reward_model_config.use_next_observation="
            f"{str(rlhf.reward_model_config.use_next_observation).lower()})"
        )
    generator = torch.Generator().manual_seed(policy_config.seed + 2)
    if rlhf.labeller.kind == "synthetic" and not labels_path.is_file():
        append_labels(labels_path, synthetic_labels(segments, labels, rlhf, generator))
    source = Path(rlhf.labeller.labels_file) if rlhf.labeller.labels_file else labels_path
    comparisons = comparisons_from_labels(read_labels(source), segments, source)
    env = policy_config.env
    model = RewardModel(input_size, rlhf.reward_model_config, action_size)
    fit = fit_reward_model(model, comparisons, rlhf.reward_model_config, generator)
    model.fit_output_statistics(segments)
    save_checkpoint(
        stage_dir / "reward_model.pt",
        reward_model_payload(model, rlhf.reward_model_config, env.id),
    )
    summary = {
        "stage": "reward_model",
        "env_id": env.id,
        "segments": len(segments),
        "labels": len(comparisons),
        "validation_pairs": fit.validation_size,
        "validation_accuracy": fit.validation_accuracy,
        "train_loss": fit.train_loss,
        "true_return_correlation": correlation(model, segments),
        "wall_seconds": time.perf_counter() - started,
    }
    metrics = MetricsWriter(stage_dir, {"rlhf": dataclasses.asdict(rlhf)})
    metrics.scalars(
        {
            "rlhf/reward_model_accuracy": fit.validation_accuracy,
            "rlhf/reward_model_loss": fit.train_loss,
            "rlhf/true_return_correlation": summary["true_return_correlation"],
        },
        len(comparisons),
    )
    metrics.close()
    write_json(stage_dir / "summary.json", summary)
    return summary
