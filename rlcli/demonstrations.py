"""Demonstrations: recording a policy's episodes as a Minari dataset and feeding one to a learner.

Minari (Farama's offline-RL dataset format, the optional extra ``minari``) stores episodes of
observations, actions, rewards, terminations and truncations in HDF5. ``rlcli collect`` writes one;
``algo=bc dataset=<Minari id or directory>`` trains on any dataset whose spaces match the env.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlcli.errors import UserError
from rlcli.networks import ActorCritic, actions_for_env
from rlcli.normalization import ObservationNormalizer

MINARI_HINT = "pip install -e '.[minari]' (from a clone of rlcli)"


@dataclass
class EpisodeRecord:
    """One recorded episode: T actions, T + 1 observations (the last one after the final step)."""

    observations: np.ndarray  # [T + 1, *obs]
    actions: np.ndarray  # [T] or [T, A]
    rewards: np.ndarray  # [T]
    terminations: np.ndarray  # [T] bool
    truncations: np.ndarray  # [T] bool


def record_episodes(
    agent: ActorCritic,
    env: gym.Env,
    episodes: int,
    seed: int,
    deterministic: bool,
    observation_normalizer: ObservationNormalizer | None = None,
) -> list[EpisodeRecord]:
    """Play ``episodes`` episodes of ``agent`` in ``env`` (seeds seed, seed + 1, ...), keeping
    the raw observations and the actions the env received."""
    records = []
    for episode in range(episodes):
        observation, _ = env.reset(seed=seed + episode)
        steps: dict[str, list[Any]] = {key: [] for key in ("actions", "rewards", "terms", "truncs")}
        observations = [observation]
        done = False
        while not done:
            batch = np.asarray(observation, dtype=np.float32)[None]
            if observation_normalizer is not None:
                batch = observation_normalizer(batch, update=False)
            with torch.inference_mode():
                action = agent.predict(torch.from_numpy(batch), deterministic)
            action = actions_for_env(action, env.action_space)[0]
            observation, reward, terminated, truncated, _ = env.step(action)
            for key, value in zip(
                ("actions", "rewards", "terms", "truncs"),
                (action, reward, terminated, truncated),
                strict=True,
            ):
                steps[key].append(value)
            observations.append(observation)
            done = terminated or truncated
        records.append(
            EpisodeRecord(
                np.asarray(observations),
                np.asarray(steps["actions"]),
                np.asarray(steps["rewards"], dtype=np.float64),
                np.asarray(steps["terms"], dtype=np.bool_),
                np.asarray(steps["truncs"], dtype=np.bool_),
            )
        )
    return records


def _minari() -> Any:
    try:
        import minari
    except ImportError:
        raise UserError(f"datasets need the minari package: {MINARI_HINT}") from None
    return minari


@contextmanager
def _minari_root(root: Path) -> Iterator[None]:
    """Point Minari's dataset root at ``root`` for the duration of the block."""
    previous = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(root)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = previous


def write_dataset(
    destination: Path,
    records: list[EpisodeRecord],
    env_id: str,
    observation_space: gym.Space,
    action_space: gym.Space,
    description: str,
) -> Path:
    """Write ``records`` as a Minari dataset directory at ``destination`` (atomically: it appears
    complete or not at all); an existing destination is refused."""
    minari = _minari()
    from minari.data_collector import EpisodeBuffer

    if destination.exists():
        raise UserError(f"output={str(destination)!r} already exists; choose another directory")
    destination.parent.mkdir(parents=True, exist_ok=True)
    buffers = [
        EpisodeBuffer(
            id=index,
            observations=list(record.observations),
            actions=list(record.actions),
            rewards=list(record.rewards),
            terminations=list(record.terminations),
            truncations=list(record.truncations),
        )
        for index, record in enumerate(records)
    ]
    # Minari joins a relative dataset root onto itself: stage under an absolute path.
    parent = destination.parent.resolve()
    with tempfile.TemporaryDirectory(dir=parent, prefix=".collect-") as staging:
        with _minari_root(Path(staging)), warnings.catch_warnings():
            # Minari asks for an author, e-mail and code link; rlcli has none to give for a user.
            warnings.filterwarnings("ignore", category=UserWarning, module="minari")
            minari.create_dataset_from_buffers(
                dataset_id="rlcli/demonstrations-v0",
                buffer=buffers,
                env=env_id,
                observation_space=observation_space,
                action_space=action_space,
                algorithm_name="rlcli",
                description=description,
            )
        shutil.move(Path(staging) / "rlcli" / "demonstrations-v0", destination)
    return destination


@dataclass
class Demonstrations:
    """The steps of a dataset, flattened: what behaviour cloning fits."""

    observations: torch.Tensor  # [S, *obs]
    actions: torch.Tensor  # [S] or [S, A]
    episode_index: torch.Tensor  # [S] which episode each step belongs to
    episode_returns: list[float]
    observation_space: gym.Space
    action_space: gym.Space


def _open_dataset(reference: str) -> Any:
    """A MinariDataset from a dataset directory (or its data/ folder) or a local Minari id."""
    minari = _minari()
    path = Path(reference)
    if not path.exists():
        return minari.load_dataset(reference)
    data = path / "data" if (path / "data").is_dir() else path
    return minari.MinariDataset(str(data))


def _read_steps(reference: str) -> tuple[Any, list[np.ndarray], list[np.ndarray], list[float]]:
    """(dataset, observations before each action per episode, actions, episode returns)."""
    dataset = _open_dataset(reference)
    observations, actions, returns = [], [], []
    for episode in dataset.iterate_episodes():
        length = len(episode.actions)
        observations.append(np.asarray(episode.observations)[:length])
        actions.append(np.asarray(episode.actions))
        returns.append(float(np.sum(episode.rewards)))
    return dataset, observations, actions, returns


@contextmanager
def dataset_errors(reference: str) -> Iterator[None]:
    """A missing or unreadable dataset as one user error naming it."""
    try:
        yield
    except UserError:
        raise
    except FileNotFoundError:
        raise UserError(
            f"dataset={reference!r} is neither a dataset directory nor a local Minari dataset id "
            "(list them with: minari list local)"
        ) from None
    except Exception as error:  # h5py/json errors of a corrupt or truncated dataset
        detail = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise UserError(f"dataset={reference!r} cannot be read (corrupt?): {detail}") from None


def read_episodes(reference: str) -> tuple[str, list[EpisodeRecord]]:
    """The env id and every episode of a Minari dataset."""
    with dataset_errors(reference):
        dataset = _open_dataset(reference)
        records = [
            EpisodeRecord(
                np.asarray(episode.observations),
                np.asarray(episode.actions),
                np.asarray(episode.rewards, dtype=np.float64),
                np.asarray(episode.terminations, dtype=np.bool_),
                np.asarray(episode.truncations, dtype=np.bool_),
            )
            for episode in dataset.iterate_episodes()
        ]
        env_id = dataset.spec.env_spec.id if dataset.spec.env_spec else None
    if not records:
        raise UserError(f"dataset={reference!r} holds no episodes")
    if env_id is None:
        raise UserError(f"dataset={reference!r} does not name the env it was recorded in")
    return env_id, records


def load_demonstrations(reference: str) -> Demonstrations:
    """Every step of a Minari dataset: observations before each action, and the actions."""
    with dataset_errors(reference):
        dataset, observations, actions, returns = _read_steps(reference)
    if not observations:
        raise UserError(f"dataset={reference!r} holds no episodes")
    index = [np.full(len(steps), number) for number, steps in enumerate(actions)]
    return Demonstrations(
        torch.as_tensor(np.concatenate(observations), dtype=torch.float32),
        torch.as_tensor(np.concatenate(actions)),
        torch.as_tensor(np.concatenate(index)),
        returns,
        dataset.observation_space,
        dataset.action_space,
    )


def check_spaces(reference: str, demonstrations: Demonstrations, envs: Any) -> None:
    """Refuse a dataset recorded in other observation or action spaces than the env's."""
    for name, ours, theirs in (
        ("observation", envs.single_observation_space, demonstrations.observation_space),
        ("action", envs.single_action_space, demonstrations.action_space),
    ):
        same = type(ours) is type(theirs) and ours.shape == theirs.shape
        if isinstance(ours, gym.spaces.Discrete) and isinstance(theirs, gym.spaces.Discrete):
            same = ours.n == theirs.n
        if not same:
            raise UserError(
                f"dataset={reference!r} has {name} space {theirs}, but the env's is {ours}"
            )


@dataclass
class DemonstrationBatch:
    """Expert steps for one behaviour-cloning iteration, already split into minibatches."""

    minibatches: list[tuple[torch.Tensor, torch.Tensor]]  # (observations, actions) each


class DemonstrationSource:
    """A BatchSource over a dataset: random minibatches of the training episodes; the held-out
    episodes measure the current policy's validation loss before each update."""

    def __init__(
        self,
        demonstrations: Demonstrations,
        minibatch_size: int,
        minibatches_per_iteration: int,
        validation_fraction: float,
        seed: int,
        device: torch.device,
        observation_normalizer: ObservationNormalizer | None = None,
    ) -> None:
        self.global_step = 0
        self.minibatch_size = minibatch_size
        self.minibatches_per_iteration = minibatches_per_iteration
        self.device = device
        self.generator = torch.Generator().manual_seed(seed)
        observations = demonstrations.observations
        if observation_normalizer is not None:  # statistics of the demonstrations, then frozen
            observation_normalizer(observations.numpy(), update=True)
            observations = torch.from_numpy(
                observation_normalizer(observations.numpy(), update=False)
            )
        episodes = int(demonstrations.episode_index.max()) + 1
        held_out = int(episodes * validation_fraction) if episodes > 1 else 0
        order = torch.randperm(episodes, generator=self.generator)
        is_validation = torch.isin(demonstrations.episode_index, order[:held_out])
        self.train = (observations[~is_validation], demonstrations.actions[~is_validation])
        self.validation = (observations[is_validation], demonstrations.actions[is_validation])
        self._scalars: dict[str, float] = {}

    @property
    def steps_per_iteration(self) -> int:
        """Demonstration samples trained on per iteration."""
        return self.minibatch_size * self.minibatches_per_iteration

    def collect(self, agent: ActorCritic) -> DemonstrationBatch:
        """Random training minibatches (with replacement across iterations, not within one)."""
        self._validate(agent)
        observations, actions = self.train
        count = observations.shape[0]
        minibatches = []
        for _ in range(self.minibatches_per_iteration):
            indices = torch.randint(count, (self.minibatch_size,), generator=self.generator)
            minibatches.append(
                (observations[indices].to(self.device), actions[indices].to(self.device))
            )
        self.global_step += self.steps_per_iteration
        return DemonstrationBatch(minibatches)

    def _validate(self, agent: ActorCritic) -> None:
        observations, actions = self.validation
        if observations.shape[0] == 0:
            return
        with torch.no_grad():
            log_probs, _, _ = agent.evaluate_actions(
                observations.to(self.device), actions.to(self.device)
            )
            self._scalars["bc/validation_loss"] = float(-log_probs.mean())
            if actions.dtype == torch.int64 or actions.dim() == 1:
                predicted = agent.predict(observations.to(self.device), deterministic=True)
                agreement = (predicted.cpu() == actions).float().mean()
                self._scalars["bc/validation_accuracy"] = float(agreement)

    def drain_episodes(self) -> list:
        """A dataset plays no training episodes."""
        return []

    def drain_scalars(self) -> dict[str, float]:
        """Validation loss (and action agreement for discrete actions) before the update."""
        scalars, self._scalars = self._scalars, {}
        return scalars

    def state_dict(self) -> dict[str, Any]:
        """Samples drawn so far and the sampling RNG."""
        return {"global_step": self.global_step, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any], seed: int) -> bool:
        """Continue the same sampling sequence exactly."""
        self.global_step = state["global_step"]
        self.generator.set_state(state["generator"])
        return True

    def close(self) -> None:
        """Nothing to release."""
