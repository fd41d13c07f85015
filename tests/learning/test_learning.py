"""The shipped presets learn: fixed seeds, a step budget, the real reward threshold.

Each run evaluates (deterministic policy, 10 episodes) every ``every`` steps and stops at the first
evaluation whose mean reaches the threshold; the test asserts that happened within the budget.
"""

import pytest

from rlcli.build import train

CASES = [
    # algo, env, threshold, budget (env steps), evaluation interval
    ("ppo", "CartPole-v1", 475.0, 100_000, 5_000),
    ("pg", "CartPole-v1", 475.0, 300_000, 10_000),
    ("ppo", "Pendulum-v1", -400.0, 300_000, 20_000),
]


@pytest.mark.learning
@pytest.mark.parametrize("algo, env, threshold, budget, every", CASES)
def test_preset_reaches_threshold_within_budget(
    settings, tmp_path, algo, env, threshold, budget, every
):
    config = settings(
        f"algo={algo}",
        f"env={env}",
        "seed=1",
        f"total_timesteps={budget}",
        f"env.reward_threshold={threshold}",
        "stop_when_solved=true",
        f"eval.every_steps={every}",
        "eval.episodes=10",
    )
    summary = train(config, tmp_path)
    assert summary.first_solved_step is not None, (
        f"{algo} {env} best evaluation {summary.best_eval_mean_return:.1f} < {threshold} "
        f"after {summary.global_step} steps"
    )
    assert summary.first_solved_step <= budget
    assert summary.final_eval_mean_return >= threshold
