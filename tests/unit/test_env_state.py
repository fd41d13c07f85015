"""env_state: the whole state of a vector env, captured as plain data and put back, so a resumed
run steps exactly as the run it continues; envs whose state is not plain data say so."""

import io

import numpy as np
import pytest
import torch
from extras import needs_extra

from rlcli import env_state
from rlcli.envs import make_vector_env

CAPTURABLE = [
    "CartPole-v1",  # numpy-vectorised (one object holds every copy)
    "Pendulum-v1",  # a SyncVectorEnv of classic-control copies, continuous actions
    "Acrobot-v1",
    pytest.param("Hopper-v5", marks=needs_extra("Hopper-v5")),  # MuJoCo's simulator state
]


def trace(envs, steps: int, action_seed: int) -> list[np.ndarray]:
    """Observations, rewards and episode ends of ``steps`` steps of seeded random actions."""
    space = envs.action_space
    space.seed(action_seed)
    rows = []
    for _ in range(steps):
        observations, rewards, terminations, truncations, _ = envs.step(space.sample())
        rows.append(np.concatenate([observations.ravel(), rewards, terminations, truncations]))
    return rows


def through_a_checkpoint(state: object) -> object:
    """What a resume reads back: the state saved with torch.save, loaded with weights_only."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize("env_id", CAPTURABLE)
def test_restored_envs_step_exactly_as_the_captured_ones(env_id):
    envs = make_vector_env(env_id, 2)
    envs.reset(seed=0)
    trace(envs, 30, action_seed=0)
    state = through_a_checkpoint(env_state.capture(envs))
    expected = trace(envs, 60, action_seed=1)  # crosses episode ends and autoresets on CartPole

    trace(envs, 17, action_seed=2)  # move on, so restoring has something to undo
    env_state.restore(envs, state)
    assert_same_trace(trace(envs, 60, action_seed=1), expected)

    fresh = make_vector_env(env_id, 2)  # as a resume does: new envs, reset with another seed
    fresh.reset(seed=123)
    env_state.restore(fresh, state)
    assert_same_trace(trace(fresh, 60, action_seed=1), expected)
    envs.close()
    fresh.close()


def assert_same_trace(actual: list[np.ndarray], expected: list[np.ndarray]) -> None:
    assert len(actual) == len(expected)
    for step, (row, expected_row) in enumerate(zip(actual, expected, strict=True)):
        np.testing.assert_array_equal(row, expected_row, err_msg=f"step {step}")


def test_box2d_state_cannot_be_captured():
    envs = make_vector_env("LunarLander-v3", 1)
    envs.reset(seed=0)
    assert env_state.capture(envs) is None
    envs.close()


def test_restoring_into_another_number_of_envs_is_refused():
    two, three = make_vector_env("Pendulum-v1", 2), make_vector_env("Pendulum-v1", 3)
    two.reset(seed=0)
    three.reset(seed=0)
    with pytest.raises(ValueError, match="does not match"):
        env_state.restore(three, env_state.capture(two))


def test_numpy_generators_and_scalars_keep_their_type():
    envs = make_vector_env("Pendulum-v1", 1)
    envs.reset(seed=0)
    state = through_a_checkpoint(env_state.capture(envs))
    envs.reset(seed=5)
    env_state.restore(envs, state)
    inner = envs.envs[0].unwrapped
    assert isinstance(inner.np_random, np.random.Generator)
    assert isinstance(inner.state, np.ndarray) and inner.state.dtype == np.float64
