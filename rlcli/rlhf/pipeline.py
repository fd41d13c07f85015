"""``rlcli rlhf``: the three RLHF stages as ordinary runs in one parent directory.

    <out>/demonstrator/       a PPO run (unless ``demonstrator=`` names one)
    <out>/demonstrations/     its episodes as a Minari dataset (rlcli collect)
    <out>/sft/                stage 1: behaviour cloning (algo=bc)
    <out>/reward_model/       stage 2: segments, labels.jsonl, reward_model.pt
    <out>/rlhf/               stage 3: PPO on the learned reward with a KL leash to sft/
    <out>/control/            the same with shuffled labels (reward_model_control/ for stage 2)
    <out>/ppo_true_reward/    PPO on the env's reward from the same start and budget
    <out>/report.md, report.png

A finished stage (summary.json) is not redone; an interrupted one resumes from its checkpoint.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from rlcli.errors import UserError
from rlcli.settings import PipelineConfig, TrainConfig

log = logging.getLogger("rlcli")

PRESETS = Path(__file__).resolve().parent.parent / "configs" / "rlhf"


def pipeline_config(arguments: list[str]) -> PipelineConfig:
    """Schema defaults <- the env's preset (configs/rlhf/<env>.yaml) <- ``key=value`` arguments."""
    try:
        overrides = OmegaConf.from_dotlist(arguments)
        schema = OmegaConf.structured(PipelineConfig)
        env = OmegaConf.merge(schema, overrides).env
        preset = _preset_file(env)
        layers = [schema, OmegaConf.load(preset)] if preset else [schema]
        config = OmegaConf.to_object(OmegaConf.merge(*layers, overrides))
    except (OmegaConfBaseException, ValueError) as error:
        first_line = (str(error).strip().splitlines() or ["invalid arguments"])[0]
        keys = ", ".join(PipelineConfig.__annotations__)
        raise UserError(f"rlhf: {first_line}; valid keys: {keys}") from None
    assert isinstance(config, PipelineConfig)
    return config


def _preset_file(env: str) -> Path | None:
    from importlib import resources

    candidate = resources.files("rlcli.configs").joinpath("rlhf", f"{env}.yaml")
    return Path(str(candidate)) if candidate.is_file() else None


def compose_train(overrides: list[str]) -> TrainConfig:
    """The typed settings ``rlcli train <overrides>`` would run with."""
    from hydra import compose, initialize_config_module
    from hydra.errors import HydraException

    from rlcli.build import settings_from_config
    from rlcli.config import register_configs

    register_configs()
    try:
        with initialize_config_module(config_module="rlcli.configs", version_base="1.3"):
            cfg = compose(config_name="train", overrides=overrides)
    except (HydraException, OmegaConfBaseException) as error:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise UserError(f"rlhf stage overrides {' '.join(overrides)}: {first_line}") from None
    return settings_from_config(cfg)


def run_stage(name: str, stage_dir: Path, overrides: list[str]) -> dict[str, Any]:
    """One ``rlcli train`` stage: skipped when finished, resumed when interrupted."""
    import json

    from rlcli.build import resume_training, train

    if (stage_dir / "summary.json").is_file():
        log.info("rlhf: %s already finished in %s", name, stage_dir)
        return json.loads((stage_dir / "summary.json").read_text())
    if (stage_dir / "checkpoints" / "latest.pt").is_file():
        log.info("rlhf: resuming %s in %s", name, stage_dir)
        return resume_training(stage_dir).as_dict()
    config = compose_train(overrides)
    stage_dir.mkdir(parents=True, exist_ok=True)
    (stage_dir / "overrides.txt").write_text("\n".join(overrides) + "\n")
    log.info("rlhf: %s -> %s (rlcli train %s)", name, stage_dir, " ".join(overrides))
    initial = None
    if config.init_from is not None:
        from rlcli.build import find_checkpoint
        from rlcli.checkpoint import load_checkpoint

        initial = load_checkpoint(find_checkpoint(Path(config.init_from)))
    return train(config, stage_dir, initial_weights=initial).as_dict()


def run_reward_stage(
    stage_dir: Path, policy_dir: Path, rl_overrides: list[str], config: PipelineConfig
) -> dict[str, Any]:
    """Stage 2 from the SFT policy's segments (skipped when finished)."""
    import json

    from rlcli.build import find_checkpoint, settings_from_dict
    from rlcli.checkpoint import load_checkpoint
    from rlcli.rlhf.reward_stage import run_reward_model_stage

    if (stage_dir / "summary.json").is_file():
        return json.loads((stage_dir / "summary.json").read_text())
    checkpoint = load_checkpoint(find_checkpoint(policy_dir))
    policy_config = settings_from_dict(checkpoint["config"])
    rlhf = compose_train(rl_overrides).rlhf
    log.info("rlhf: reward model -> %s (%d labels)", stage_dir, config.reward_model_labels)
    return run_reward_model_stage(
        policy_config,
        checkpoint,
        stage_dir,
        rlhf,
        config.reward_model_steps,
        config.reward_model_labels,
    )


def run_pipeline(config: PipelineConfig) -> dict[str, dict[str, Any]]:
    """Every stage in order; returns their summaries by stage name."""
    from rlcli.collect_command import CollectRequest, collect_command

    out = Path(config.out or f"outputs/rlhf/{config.env}_seed{config.seed}")
    common = [f"env={config.env}", f"seed={config.seed}", "progress=log"]
    summaries: dict[str, dict[str, Any]] = {}
    rl = ["algo=ppo", *common, *config.rl_overrides]
    learned = [*rl, "rlhf.enabled=true"]
    start: list[str] = []
    # (RL stage, its reward-model stage, their extra overrides): RLHF and its control.
    arms = [("rlhf", "reward_model", [])]
    if config.control:
        arms.append(("control", "reward_model_control", ["rlhf.shuffle_labels=true"]))
    if config.sft:
        demonstrator = Path(config.demonstrator) if config.demonstrator else out / "demonstrator"
        if config.demonstrator is None:
            overrides = ["algo=ppo", *common, *config.demonstrator_overrides]
            summaries["demonstrator"] = run_stage("demonstrator", demonstrator, overrides)
        dataset = out / "demonstrations"
        if not (dataset / "collect.json").is_file():
            request = CollectRequest(
                demonstrator,
                config.demo_episodes,
                deterministic=config.demo_deterministic,
                output=dataset,
            )
            collect_command(request)
        summaries["sft"] = run_stage(
            "sft", out / "sft", ["algo=bc", *common, f"dataset={dataset}", *config.sft_overrides]
        )
        start = [f"init_from={out / 'sft'}", f"rlhf.reference={out / 'sft'}"]
        for _, model, shuffle in arms:
            # Stage 2 reads the RL stages' settings, with the model it writes (rlhf.online=false
            # needs one to validate).
            overrides = [*learned, *shuffle, f"rlhf.reward_model={out / model}"]
            summaries[model] = run_reward_stage(out / model, out / "sft", overrides, config)
    for name, model, shuffle in arms:
        from_model = [f"rlhf.reward_model={out / model}"] if config.sft else []
        summaries[name] = run_stage(name, out / name, [*learned, *start, *from_model, *shuffle])
    if config.true_reward_baseline:
        init = start[:1]
        summaries["ppo_true_reward"] = run_stage(
            "ppo_true_reward", out / "ppo_true_reward", [*rl, *init]
        )
    from rlcli.rlhf.pipeline_report import write_pipeline_report

    write_pipeline_report(out, summaries, config)
    return summaries


def run_pipeline_command(arguments: list[str]) -> dict[str, dict[str, Any]]:
    """``rlcli rlhf key=value ...``."""
    config = pipeline_config(arguments)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="[%(asctime)s][rlcli] %(message)s")
    log.info("rlhf pipeline: %s", dataclasses.asdict(config))
    return run_pipeline(config)
