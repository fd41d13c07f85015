"""Learners: each a dataclass of hyperparameters with an ``update`` method (see base.py)."""

from rlcli.algos.base import Algorithm
from rlcli.algos.bc import BC
from rlcli.algos.pg import PG
from rlcli.algos.ppo import PPO

ALGORITHMS: dict[str, type] = {"pg": PG, "ppo": PPO, "bc": BC}

__all__ = ["ALGORITHMS", "BC", "PG", "PPO", "Algorithm"]
