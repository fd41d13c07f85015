"""Schema of ``hydra/launcher=slurm``: hydra-submitit-launcher's SLURM settings plus rlcli's own.

Registered only when the "sweep" extra (hydra-submitit-launcher) is installed. No ``from
__future__ import annotations``: Hydra's plugin scan runs this module before it is in sys.modules.
"""

from dataclasses import dataclass

from hydra.core.config_store import ConfigStore

try:
    from hydra_plugins.hydra_submitit_launcher.config import SlurmQueueConf
except ImportError:  # the "sweep" extra is not installed: no SLURM launcher
    SlurmQueueConf = None

if SlurmQueueConf is not None:

    @dataclass
    class RlcliSlurmConf(SlurmQueueConf):
        """The SLURM launcher's settings (configs/hydra/launcher/slurm.yaml)."""

        _target_: str = "hydra_plugins.rlcli_slurm_launcher.launcher.RlcliSlurmLauncher"
        status_every_s: int = 60
        """While jobs pend: seconds between the status lines (state and reason from squeue)."""

    ConfigStore.instance().store(
        group="hydra/launcher", name="rlcli_slurm", node=RlcliSlurmConf, provider="rlcli"
    )
