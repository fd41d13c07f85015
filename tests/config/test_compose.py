"""Every shipped option composes and builds; mistakes fail at composition, before training."""

from pathlib import Path

import pytest
import torch
import yaml
from extras import ATARI_ENVS, needs_extra
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError

import rlcli
from rlcli.algos import ALGORITHMS
from rlcli.build.objects import build_learner
from rlcli.errors import UserError
from rlcli.overrides import _with_generic_env

CONFIGS = Path(rlcli.__file__).parent.parent / "configs"
if not CONFIGS.is_dir():  # installed non-editable: configs ship inside the package
    CONFIGS = Path(rlcli.__file__).parent / "configs"


def options(group: str, exclude: tuple[str, ...] = ()) -> list[str]:
    names = sorted(p.stem for p in (CONFIGS / group).glob("*.yaml"))
    return [name for name in names if name not in exclude]


ENV_PRESETS = [
    pytest.param(env, marks=needs_extra(env)) for env in options("env", exclude=("generic",))
]


def preset_network_pairs() -> list:
    """Every env preset with every network that fits it (the CNN only for image observations)."""
    pairs = []
    for env in options("env", exclude=("generic",)):
        for network in options("network"):
            if network == "cnn" and env not in ATARI_ENVS:
                continue
            pairs.append(pytest.param(env, network, marks=needs_extra(env)))
    return pairs


@pytest.mark.parametrize("env, network", preset_network_pairs())
@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
def test_every_preset_composes_and_builds(settings, algo, env, network):
    if ALGORITHMS[algo].consumes == "demonstrations":  # built with a dataset in test_rlhf.py
        with pytest.raises(UserError, match=f"algo={algo} learns from demonstrations"):
            settings(f"algo={algo}", f"env={env}", f"network={network}")
        return
    config = settings(f"algo={algo}", f"env={env}", f"network={network}")
    assert config.algo.name == algo and isinstance(config.algo, ALGORITHMS[algo])
    assert config.env.id.removeprefix("ALE/") == env
    learner = build_learner(config, torch.device("cpu"))
    assert (learner.agent.critic is not None) == config.algo.uses_critic
    assert (learner.agent.encoder is not None) == (env in ATARI_ENVS)
    learner.source.close()


def test_the_cnn_preset_refuses_vector_observations(settings):
    config = settings("env=CartPole-v1", "network=cnn")
    with pytest.raises(UserError, match="network.architecture=cnn needs image observations"):
        build_learner(config, torch.device("cpu"))


def test_every_algo_yaml_is_a_registered_algorithm():
    assert set(options("algo")) == set(ALGORITHMS)


@pytest.mark.parametrize("tuned", options("tuned"))
def test_tuned_presets_apply_to_their_pair(settings, tuned):
    algo, env = tuned.split("_", 1)
    data = ["dataset=unused-by-composition"] if ALGORITHMS[algo].consumes != "rollouts" else []
    config = settings(f"algo={algo}", f"env={env}", *data)
    assert config.tuned_for == config.env.id
    assert config.env.id.removeprefix("ALE/") == env


def leaves(tree: dict, prefix: str = "") -> list[tuple[str, object]]:
    """(dotted key, value) of every leaf of a nested mapping (an empty mapping is a leaf)."""
    found = []
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            found += leaves(value, f"{prefix}{key}.")
        else:
            found.append((f"{prefix}{key}", value))
    return found


@pytest.mark.parametrize("tuned", options("tuned"))
def test_tuned_presets_state_only_what_differs(compose_config, tuned):
    """A preset value the pair has anyway (schema default or env preset) hides what was tuned."""
    algo, env = tuned.split("_", 1)
    untuned = compose_config(f"algo={algo}", f"env={env}", "~tuned")
    preset = yaml.safe_load((CONFIGS / "tuned" / f"{tuned}.yaml").read_text())
    restated = [
        key
        for key, value in leaves(preset)
        if key not in ("tuned_for", "defaults")
        and OmegaConf.to_container(OmegaConf.create({"v": OmegaConf.select(untuned, key)}))["v"]
        == value
    ]
    assert restated == []


def test_tuned_values_reach_the_config(settings):
    assert settings("algo=ppo", "env=CartPole-v1").algo.update_epochs == 20
    assert settings("algo=ppo", "env=Acrobot-v1").algo.update_epochs == 4  # no tuned file: default


@pytest.mark.parametrize(
    "override, error",
    [
        ("algo.learning_rat=0.1", ConfigCompositionException),
        ("algo.learning_rate=fast", ConfigCompositionException),
        ("env.num_envz=3", ConfigCompositionException),
        ("network.hidden_sizes=[a,b]", ConfigCompositionException),
        ("algo=sac", ConfigCompositionException),
        ("env=Pong", ConfigCompositionException),
        ("network=huge", ConfigCompositionException),
    ],
)
def test_mistakes_fail_at_composition(compose_config, override, error):
    with pytest.raises((error, ConfigKeyError, ValidationError)):
        compose_config(override)


def test_env_id_on_a_tuned_preset_is_refused(settings):
    with pytest.raises(UserError, match="env=generic env.id=Acrobot-v1"):
        settings("algo=ppo", "env=CartPole-v1", "env.id=Acrobot-v1")


def test_generic_env_with_any_id_gets_no_tuned_values(settings):
    config = settings("algo=ppo", "env=generic", "env.id=CartPole-v1")
    assert config.tuned_for is None and config.algo.update_epochs == 4


def test_cli_picks_generic_env_when_only_env_id_is_given():
    assert _with_generic_env(["env.id=Taxi-v3", "seed=1"]) == [
        "env=generic",
        "env.id=Taxi-v3",
        "seed=1",
    ]
    assert _with_generic_env(["env=CartPole-v1", "env.id=X"]) == ["env=CartPole-v1", "env.id=X"]
    assert _with_generic_env(["seed=1"]) == ["seed=1"]


def test_the_classic_reinforce_preset_is_the_textbook_recipe(settings):
    config = settings("env=CartPole-v1", "preset=reinforce_classic")  # it picks algo=pg itself
    algo, network = config.algo, config.network
    assert (algo.name, algo.learning_rate, algo.gamma, algo.loss_reduction) == (
        "pg",
        2e-4,
        0.98,
        "sum",
    )
    assert algo.episodes_per_update == 1 and config.env.num_envs == 1
    assert not (algo.use_baseline or algo.normalize_returns) and algo.max_grad_norm is None
    assert (network.hidden_sizes, network.activation, network.bias) == ([128], "relu", False)
    assert config.stop_when_running_return_solved and config.running_return_weight == 0.05
    assert config.log_every_episodes == 20
    learner = build_learner(config, torch.device("cpu"))
    # 4 observations -> 128 ReLU -> 2 logits: weights only, no value head
    assert sum(p.numel() for p in learner.agent.parameters()) == 4 * 128 + 128 * 2
    learner.source.close()
