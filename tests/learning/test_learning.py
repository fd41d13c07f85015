"""The shipped presets learn: each preset's own step budget, reward threshold and evaluation
interval (10 deterministic episodes), two seeds each.

The runs stop at their first evaluation whose mean reaches the threshold (the ppo CartPole preset
does so itself, at a perfect 500; the others are told to with ``stop_when_solved=true``, which only
saves time), so each test asserts that this happened within the budget.
"""

import pytest

from rlcli.build import settings_from_config, train

CASES = [
    # algo, env: the preset's threshold and budget (env steps), as README's Tests section says
    ("ppo", "CartPole-v1", 500.0, 100_000),
    ("pg", "CartPole-v1", 475.0, 300_000),
    ("ppo", "Pendulum-v1", -250.0, 200_000),
]


@pytest.mark.learning
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("algo, env, threshold, budget", CASES)
def test_preset_reaches_its_threshold_within_its_budget(
    compose_config, tmp_path, algo, env, threshold, budget, seed
):
    # compile=false (the default, stated): the presets' eager arithmetic on every machine.
    overrides = [f"algo={algo}", f"env={env}", f"seed={seed}", "progress=none", "compile=false"]
    config = settings_from_config(compose_config(*overrides, "stop_when_solved=true"))
    assert (config.total_timesteps, config.eval.episodes) == (budget, 10)
    summary = train(config, tmp_path)
    assert summary.reward_threshold == threshold
    assert summary.first_solved_step is not None, (
        f"{algo} {env} seed {seed}: best evaluation {summary.best_eval_mean_return:.1f} "
        f"< {threshold} after {summary.global_step} steps"
    )
    assert summary.global_step == summary.first_solved_step, "stopped when solved"


@pytest.mark.learning
@pytest.mark.parametrize("seed", [0, 1])
def test_ppo_cartpole_learns_with_the_compiled_update(compose_config, tmp_path, seed):
    overrides = ["algo=ppo", "env=CartPole-v1", f"seed={seed}", "progress=none", "compile=true"]
    summary = train(settings_from_config(compose_config(*overrides)), tmp_path)
    assert summary.first_solved_step is not None, (
        f"compiled ppo CartPole seed {seed}: best evaluation {summary.best_eval_mean_return:.1f}"
    )


CLASSIC = ["env=CartPole-v1", "preset=reinforce_classic", "seed=0", "progress=none"]


@pytest.mark.learning
def test_classic_reinforce_stops_on_its_running_return(compose_config, tmp_path):
    # The preset's own stop at CartPole-v0's threshold, 195, to keep CI short: seed 0's running
    # return passes it after ~1,000 episodes (~86k steps). The shipped 475 takes ~5,000 episodes
    # (1.4M steps, the slow test below; docs/results.md has 5 seeds).
    overrides = [*CLASSIC, "env.reward_threshold=195", "total_timesteps=200000"]
    summary = train(settings_from_config(compose_config(*overrides)), tmp_path)
    assert summary.running_return > 195, f"running return {summary.running_return:.1f} at 200k"
    assert summary.global_step < 200_000 and summary.episodes == summary.iterations


@pytest.mark.slow
def test_classic_reinforce_reaches_the_cartpole_threshold(compose_config, tmp_path):
    config = settings_from_config(compose_config(*CLASSIC))
    summary = train(config, tmp_path)
    assert summary.reward_threshold == 475.0
    assert summary.running_return > 475, f"running return {summary.running_return:.1f} at 2M"
    assert summary.global_step < config.total_timesteps
