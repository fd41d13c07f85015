"""A labelling directory from saved behaviour: segments of ``rlcli collect`` datasets (of one or
several checkpoints), random pairs of them queued with their clips.

The directory has the layout of a reward-model stage (segments.npz beside labels.jsonl), so the
reward-model stage trains on the labels people give here.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from rlcli.demonstrations import EpisodeRecord, read_episodes
from rlcli.errors import UserError
from rlcli.rlhf.clips import clip_env, write_clips
from rlcli.rlhf.label_queue import CLIPS, enqueue_pair
from rlcli.rlhf.segments import (
    SEGMENTS_FILE,
    Segments,
    cut_segments,
    random_pairs,
    reward_inputs,
    save_segments,
    segment_ids,
)


def episode_segments(record: EpisodeRecord, action_space: gym.Space, length: int) -> Segments:
    """The segments of one recorded episode (as the online loop cuts rollouts)."""
    steps = len(record.actions)
    observations = torch.as_tensor(record.observations[:steps], dtype=torch.float32)[:, None]
    actions = torch.as_tensor(np.asarray(record.actions))[:, None]
    inputs = reward_inputs(observations, actions, action_space, 2)  # [T, 1, F]
    return cut_segments(
        inputs,
        torch.as_tensor(record.rewards, dtype=torch.float32)[:, None],
        torch.ones((steps, 1), dtype=torch.bool),
        torch.as_tensor(record.terminations)[:, None],
        torch.as_tensor(record.truncations)[:, None],
        length,
    )


def dataset_episodes(datasets: list[str]) -> tuple[str, list[EpisodeRecord]]:
    """The env id and every episode of ``datasets`` (all recorded in one env)."""
    env_ids, records = set(), []
    for reference in datasets:
        env_id, episodes = read_episodes(reference)
        env_ids.add(env_id)
        records += episodes
    if len(env_ids) > 1:
        raise UserError(f"pairs_from: datasets of different envs ({', '.join(sorted(env_ids))})")
    return env_ids.pop(), records


def all_segments(records: list[EpisodeRecord], action_space: gym.Space, length: int) -> Segments:
    """Every episode's segments, in order."""
    segments = episode_segments(records[0], action_space, length)
    for record in records[1:]:
        segments = segments.extend(episode_segments(record, action_space, length))
    return segments


def queue_random_pairs(
    directory: Path, env: gym.Env, segments: Segments, pairs: int, seed: int
) -> None:
    """segments.npz, the clips of ``pairs`` random pairs of distinct segments, and the pairs."""
    size = len(segments)
    first, second = random_pairs(size, pairs, torch.Generator().manual_seed(seed))
    ids = segment_ids(size)
    used = sorted(set(first.tolist()) | set(second.tolist()))
    write_clips(env, segments.select(torch.tensor(used)), [ids[i] for i in used], directory / CLIPS)
    save_segments(directory / SEGMENTS_FILE, segments)
    for number, (a, b) in enumerate(zip(first.tolist(), second.tolist(), strict=True)):
        enqueue_pair(directory, f"pair-{number:06d}", ids[a], ids[b])


def write_pair_queue(
    directory: Path, datasets: list[str], pairs: int, length: int, seed: int
) -> int:
    """Queue ``pairs`` random pairs of the datasets' segments in ``directory``; returns the
    number of segments."""
    if (directory / SEGMENTS_FILE).exists():
        raise UserError(
            f"{directory} already holds {SEGMENTS_FILE}: label it without pairs_from, or choose "
            "another directory"
        )
    env_id, records = dataset_episodes(datasets)
    env = clip_env(env_id)
    try:
        segments = all_segments(records, env.action_space, length)
        if len(segments) < 2:
            raise UserError(f"pairs_from: fewer than 2 segments of {length} steps in {datasets}")
        queue_random_pairs(directory, env, segments, pairs, seed)
    finally:
        env.close()
    return len(segments)
