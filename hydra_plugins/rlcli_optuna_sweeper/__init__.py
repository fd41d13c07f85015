"""rlcli's Optuna sweeper for Hydra: ``rlcli train -m search=ppo_cartpole`` (optuna >= 4)."""
