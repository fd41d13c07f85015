"""On-policy algorithms: each a dataclass of hyperparameters with an ``update`` method."""

from rlcli.algos.base import Algorithm
from rlcli.algos.pg import PG
from rlcli.algos.ppo import PPO

ALGORITHMS: dict[str, type] = {"pg": PG, "ppo": PPO}

__all__ = ["ALGORITHMS", "PG", "PPO", "Algorithm"]
