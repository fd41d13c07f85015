"""The RLHF stages end to end: collect -> SFT (bc) -> reward model -> PPO with a KL leash; their
bad inputs (one line, exit 2, nothing written) and plain-dict checkpoints."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from test_bad_input import assert_unchanged, assert_user_error, run_cli, snapshot

from rlcli.build import train
from rlcli.checkpoint import load_checkpoint
from rlcli.collect_command import CollectRequest, collect_command
from rlcli.demonstrations import load_demonstrations
from rlcli.errors import UserError
from rlcli.rlhf.labels import append_labels
from rlcli.rlhf.reward_stage import run_reward_model_stage

RLHF_SHORT = [
    "rlhf.enabled=true",
    "env.num_envs=2",
    "algo.num_steps=64",
    "algo.num_minibatches=2",
    "total_timesteps=512",
    "rlhf.label_every_steps=128",
    "rlhf.label_budget=20",
    "rlhf.segment_length=8",
]


@pytest.fixture(scope="module")
def demonstrator(tmp_path_factory) -> Path:
    """The shipped ppo CartPole preset, trained until its first perfect evaluation."""
    from hydra import compose, initialize_config_module

    from rlcli.build import settings_from_config

    with initialize_config_module(config_module="rlcli.configs", version_base="1.3"):
        cfg = compose(
            config_name="train", overrides=["algo=ppo", "env=CartPole-v1", "progress=none"]
        )
    run_dir = tmp_path_factory.mktemp("demonstrator")
    summary = train(settings_from_config(cfg), run_dir)
    assert summary.final_eval_mean_return == 500.0
    return run_dir


@pytest.fixture(scope="module")
def dataset(demonstrator) -> Path:
    destination = demonstrator / "datasets" / "ten"
    collect_command(CollectRequest(demonstrator, episodes=10, output=destination))
    return destination


@pytest.fixture(scope="module")
def cloned(dataset, tmp_path_factory) -> Path:
    """The bc CartPole preset (200k demonstration samples) on the 10 episodes."""
    from hydra import compose, initialize_config_module

    from rlcli.build import settings_from_config

    overrides = ["algo=bc", "env=CartPole-v1", f"dataset={dataset}", "progress=none"]
    with initialize_config_module(config_module="rlcli.configs", version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    run_dir = tmp_path_factory.mktemp("bc")
    train(settings_from_config(cfg), run_dir)
    return run_dir


def test_collect_writes_a_minari_dataset_of_the_policy(dataset):
    demonstrations = load_demonstrations(str(dataset))
    record = json.loads((dataset / "collect.json").read_text())
    assert record["episodes"] == 10 and record["returns"] == [500.0] * 10
    assert demonstrations.observations.shape == (5000, 4)
    assert demonstrations.actions.shape == (5000,)
    assert demonstrations.episode_returns == [500.0] * 10
    assert int(demonstrations.episode_index.max()) == 9


def test_collect_to_a_relative_output_path(demonstrator, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    collect_command(CollectRequest(demonstrator, episodes=1, output=Path("out/relative")))
    assert load_demonstrations("out/relative").episode_returns == [500.0]
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["relative"]


@pytest.mark.learning
def test_behaviour_cloning_of_ten_solved_episodes_solves_cartpole(cloned):
    summary = json.loads((cloned / "summary.json").read_text())
    assert summary["algo"] == "bc" and summary["global_step"] == 200_000 // 2048 * 2048
    assert summary["final_eval_mean_return"] >= 475.0
    assert summary["final_bc_validation_accuracy"] > 0.8


def test_ppo_warm_starts_from_the_cloned_policy_with_a_fresh_critic(cloned, settings, tmp_path):
    from rlcli.build.objects import build_training_run

    saved = load_checkpoint(cloned / "checkpoints" / "final.pt")
    assert not any(key.startswith("critic.") for key in saved["agent"])
    run = build_training_run(
        settings("algo=ppo", "env=CartPole-v1", "total_timesteps=256"),
        tmp_path,
        initial_weights=saved,
    )
    state = run.learner.agent.state_dict()
    for key, value in saved["agent"].items():
        assert torch.equal(state[key].cpu(), value), key  # the learner may sit on a GPU
    assert run.learner.agent.critic is not None
    run.close()


def test_an_rlhf_run_logs_kl_beta_labels_and_learned_return(cloned, settings, tmp_path):
    config = settings(
        "algo=ppo",
        "env=CartPole-v1",
        *RLHF_SHORT,
        f"rlhf.reference={cloned}",
        f"init_from={cloned}",
        "rlhf.kl_coef=0.1",
        "rlhf.kl_target=0.01",
    )
    summary = train(
        config, tmp_path, initial_weights=load_checkpoint(cloned / "checkpoints" / "final.pt")
    )
    assert summary.extra["final_rlhf_labels"] == 20
    assert summary.extra["final_rlhf_kl"] >= 0
    assert summary.extra["final_rlhf_kl_average"] >= 0  # the report's smoothed KL
    assert summary.extra["final_rlhf_beta"] != 0.1  # the controller moved it
    checkpoint = load_checkpoint(tmp_path / "checkpoints" / "final.pt")  # weights_only=True
    assert checkpoint["collector"]["rlhf"]["comparisons"]["preferences"].shape == (20,)


def test_reward_scale_multiplies_the_learned_reward_ppo_receives(cloned, settings, tmp_path):
    from rlcli.build.objects import build_training_run

    model = _reward_model_dir(cloned, tmp_path)
    rewards = {}
    for scale in (1.0, 0.25):
        config = settings(
            "algo=ppo",
            "env=CartPole-v1",
            *RLHF_SHORT,
            "rlhf.online=false",
            f"rlhf.reward_model={model}",
            f"rlhf.reward_scale={scale}",
        )
        run = build_training_run(config, tmp_path / f"scale{scale}")
        rewards[scale] = run.learner.source.collect(run.learner.agent).rewards.clone()
        run.close()
    assert rewards[1.0].abs().sum() > 0
    torch.testing.assert_close(rewards[0.25], rewards[1.0] * 0.25)


def test_reward_model_stage_fits_labels_and_refuses_bad_label_files(cloned, tmp_path):
    from rlcli.build import settings_from_dict
    from rlcli.settings import LabellerConfig, RlhfConfig

    checkpoint = load_checkpoint(cloned / "checkpoints" / "final.pt")
    policy = settings_from_dict(checkpoint["config"])
    summary = run_reward_model_stage(policy, checkpoint, tmp_path / "rm", RlhfConfig(), 2000, 60)
    assert summary["labels"] == 60 and summary["segments"] >= 60
    payload = load_checkpoint(tmp_path / "rm" / "reward_model.pt")
    assert payload["kind"] == "rlcli.reward_model" and payload["env_id"] == "CartPole-v1"
    labels = (tmp_path / "rm" / "labels.jsonl").read_text().splitlines()
    assert len(labels) == 60 and {"left", "right", "preference"} <= set(json.loads(labels[0]))

    people = tmp_path / "people.jsonl"
    append_labels(people, [{"left": "seg-000000", "right": "seg-999999", "preference": "left"}])
    rlhf = RlhfConfig(labeller=LabellerConfig(kind="file", labels_file=str(people)))
    with pytest.raises(UserError, match=r"people.jsonl:1: segment 'seg-999999' is not in"):
        run_reward_model_stage(policy, checkpoint, tmp_path / "rm_people", rlhf, 2000, 0)
    people.write_text(
        '{"left": "seg-000000", "right": "seg-000001", "preference": "left"}\n{oops\n'
    )
    with pytest.raises(UserError, match=r"people.jsonl:2: not a JSON object"):
        run_reward_model_stage(policy, checkpoint, tmp_path / "rm_people", rlhf, 2000, 0)


def test_r_s_a_s_next_model_with_ending_heads_runs_through_both_stages(cloned, settings, tmp_path):
    from rlcli.build import settings_from_dict
    from rlcli.settings import RewardModelConfig, RlhfConfig

    checkpoint = load_checkpoint(cloned / "checkpoints" / "final.pt")
    policy = settings_from_dict(checkpoint["config"])
    model_config = RewardModelConfig(use_next_observation=True, absorbing_from_last_step=True)
    rlhf = RlhfConfig(reward_model_config=model_config)
    run_reward_model_stage(policy, checkpoint, tmp_path / "rm", rlhf, 2000, 40)
    payload = load_checkpoint(tmp_path / "rm" / "reward_model.pt")
    assert payload["input_size"] == 4 + 4 + 2  # observation, next observation, one-hot action
    assert payload["config"]["use_next_observation"] is True
    assert any(key.startswith("absorbing_heads.") for key in payload["state"])
    # PPO from scratch falls often; every pair asked puts a segment that ends first.
    config = settings(
        "algo=ppo",
        "env=CartPole-v1",
        *RLHF_SHORT,
        f"rlhf.reward_model={tmp_path / 'rm'}",
        "rlhf.termination_pair_fraction=1.0",
    )
    summary = train(config, tmp_path / "rl")
    assert summary.extra["final_rlhf_labels"] == 20
    comparisons = load_checkpoint(tmp_path / "rl" / "checkpoints" / "final.pt")["collector"][
        "rlhf"
    ]["comparisons"]
    assert comparisons["first"]["inputs"].shape[-1] == 10
    assert (~comparisons["first"]["mask"]).any(-1).all()


PIPELINE_SHORT = [
    "env=CartPole-v1",
    "demo_episodes=2",
    "sft_overrides=[total_timesteps=2048,eval.every_steps=2048]",
    "reward_model_labels=20",
    "reward_model_steps=1000",
    "rl_overrides=[total_timesteps=512,env.num_envs=2,algo.num_steps=64,algo.num_minibatches=2,"
    "rlhf.segment_length=8,rlhf.online=false]",
]
PIPELINE_STAGES = (
    "demonstrator",
    "sft",
    "reward_model",
    "reward_model_control",
    "rlhf",
    "control",
    "ppo_true_reward",
)


def test_the_pipeline_runs_every_stage_once_and_reports(tmp_path):
    out = tmp_path / "pipeline"
    first = run_cli("rlhf", *PIPELINE_SHORT, f"out={out}", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    finished = {
        stage: (out / stage / "summary.json").stat().st_mtime_ns for stage in PIPELINE_STAGES
    }
    report = (out / "report.md").read_text()
    for stage in ("demonstrator", "sft", "rlhf", "control", "ppo_true_reward"):
        assert f"| {stage} |" in report
    assert (out / "report.png").stat().st_size > 0
    # rlhf.online=false: the RL stages train on stage 2's model alone, no labels of their own.
    rlhf_summary = json.loads((out / "rlhf" / "summary.json").read_text())
    assert "final_rlhf_labels" not in rlhf_summary

    again = run_cli("rlhf", *PIPELINE_SHORT, f"out={out}", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("already finished") == 5
    assert {
        stage: (out / stage / "summary.json").stat().st_mtime_ns for stage in PIPELINE_STAGES
    } == finished


@pytest.fixture
def workspace(tmp_path, cloned, dataset) -> Path:
    shutil.copytree(cloned, tmp_path / "sft")
    (tmp_path / "notes.txt").write_text("the user's own file\n")
    return tmp_path


def _reward_model_dir(cloned: Path, workspace: Path) -> Path:
    from rlcli.build import settings_from_dict
    from rlcli.settings import RlhfConfig

    checkpoint = load_checkpoint(cloned / "checkpoints" / "final.pt")
    policy = settings_from_dict(checkpoint["config"])
    run_reward_model_stage(policy, checkpoint, workspace / "rm", RlhfConfig(), 1000, 20)
    return workspace / "rm"


def test_bad_rlhf_input_is_one_line_and_writes_nothing(workspace, dataset, cloned):
    corrupt = workspace / "corrupt"
    shutil.copytree(dataset, corrupt)
    for hdf5 in corrupt.rglob("*.hdf5"):
        hdf5.write_bytes(b"not hdf5")
    reward_model = _reward_model_dir(cloned, workspace)
    cases = [
        (["algo=bc", "env=CartPole-v1"], "algo=bc learns from demonstrations: add dataset="),
        (["algo=bc", "env=Pendulum-v1", f"dataset={dataset}"], "has observation space Box"),
        (
            ["algo=bc", "env=CartPole-v1", "dataset=/no/such/data"],
            "dataset='/no/such/data' is neither",
        ),
        (["algo=bc", "env=CartPole-v1", f"dataset={corrupt}"], "cannot be read (corrupt?)"),
        (
            [
                "algo=ppo",
                "env=Acrobot-v1",
                "rlhf.enabled=true",
                f"rlhf.reward_model={reward_model}",
            ],
            "was learned for env 'CartPole-v1'; this run is on 'Acrobot-v1'",
        ),
        (
            [
                "algo=ppo",
                "env=Acrobot-v1",
                "rlhf.enabled=true",
                f"rlhf.reference={workspace / 'sft'}",
            ],
            "is a policy for 'CartPole-v1'; this run is on 'Acrobot-v1'",
        ),
        (
            ["algo=bc", "env=CartPole-v1", "rlhf.enabled=true", f"dataset={dataset}"],
            "needs an RL algo",
        ),
    ]
    for overrides, expected in cases:
        before = snapshot(workspace)
        result = run_cli("train", *overrides, "progress=none", cwd=workspace)
        assert_user_error(result, expected)
        assert_unchanged(workspace, before)
