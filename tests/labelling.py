"""A small labelling directory (random CartPole behaviour, queued pairs with clips) and a label
app served on a free local port, for the tests of ``rlcli label``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import gymnasium as gym
import numpy as np

from rlcli.demonstrations import EpisodeRecord
from rlcli.rlhf.label_queue import PairQueue
from rlcli.rlhf.offline_pairs import all_segments, queue_random_pairs


def random_episodes(env: gym.Env, episodes: int, seed: int = 0) -> list[EpisodeRecord]:
    """Episodes of uniformly random actions."""
    env.action_space.seed(seed)
    records = []
    for episode in range(episodes):
        observation, _ = env.reset(seed=seed + episode)
        observations, actions, rewards, terminations, truncations = [observation], [], [], [], []
        done = False
        while not done:
            action = env.action_space.sample()
            observation, reward, terminated, truncated, _ = env.step(action)
            for values, value in zip(
                (observations, actions, rewards, terminations, truncations),
                (observation, action, reward, terminated, truncated),
                strict=True,
            ):
                values.append(value)
            done = terminated or truncated
        records.append(
            EpisodeRecord(
                *(
                    np.asarray(v)
                    for v in (observations, actions, rewards, terminations, truncations)
                )
            )
        )
    return records


def make_labelling_dir(directory: Path, pairs: int, length: int = 8) -> Path:
    """``pairs`` queued pairs of random CartPole segments of ``length`` steps, with clips."""
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    segments = all_segments(random_episodes(env, 6), env.action_space, length)
    queue_random_pairs(directory, env, segments, pairs, seed=0)
    env.close()
    return directory


@contextmanager
def serving(queue: PairQueue) -> Iterator[str]:
    """The label app of ``queue`` on 127.0.0.1 and a free port; yields its URL."""
    from werkzeug.serving import make_server

    from rlcli.rlhf.label_app import create_app

    server = make_server("127.0.0.1", 0, create_app(queue), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}/"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()
