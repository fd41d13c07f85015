"""rlcli: reinforcement-learning training from the command line, driven by Hydra configs."""

__version__ = "0.1.0"
