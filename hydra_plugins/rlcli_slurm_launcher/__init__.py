"""rlcli's SLURM launcher for Hydra: hydra-submitit-launcher's, made to speak to a cluster user."""
