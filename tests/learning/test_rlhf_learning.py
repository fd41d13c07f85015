"""RLHF learns from preferences alone: on Pendulum (fixed horizon, so episode length leaks
nothing) PPO on a reward model fitted online to 300 synthetic comparisons clearly beats the same
pipeline whose labels were shuffled across pairs, and the reward model ranks held-out pairs."""

from __future__ import annotations

import pytest

from rlcli.build import train

BUDGET = ["total_timesteps=50000", "rlhf.label_budget=300", "rlhf.label_every_steps=4096"]


@pytest.mark.learning
def test_pendulum_rlhf_beats_its_shuffled_label_control(settings, tmp_path):
    def run(*extra: str):
        config = settings(
            "algo=ppo", "env=Pendulum-v1", "rlhf.enabled=true", *BUDGET, "seed=0", *extra
        )
        return train(config, tmp_path / "-".join(extra or ("rlhf",)))

    learned, control = run(), run("rlhf.shuffle_labels=true")
    assert learned.extra["final_rlhf_labels"] == control.extra["final_rlhf_labels"] == 300
    assert learned.extra["final_rlhf_reward_model_accuracy"] >= 0.9
    margin = learned.final_eval_mean_return - control.final_eval_mean_return
    assert margin >= 200, (learned.final_eval_mean_return, control.final_eval_mean_return)
