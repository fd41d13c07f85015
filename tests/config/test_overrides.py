"""rlcli train's overrides: checks before composition, and one line for each composition error."""

import pytest
from hydra.core.global_hydra import GlobalHydra
from hydra.core.object_type import ObjectType

from rlcli.errors import UserError
from rlcli.overrides import composition_error_message, prepare


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["total_timesteps=1e5"], ["total_timesteps=100000"]),
        (["total_timesteps=2.5e4", "seed=3"], ["total_timesteps=25000", "seed=3"]),
        (["-m", "total_timesteps=1e4,2e4"], ["-m", "total_timesteps=10000,20000"]),
        (["env.num_envs=8.0"], ["env.num_envs=8"]),
        (["total_timesteps=1.5"], ["total_timesteps=1.5"]),  # not integral: Hydra refuses it
        (["algo.learning_rate=1e-3"], ["algo.learning_rate=1e-3"]),  # a float key: unchanged
        (["+env.kwargs.continuous=true"], ["+env.kwargs.continuous=true"]),  # a free-form dict
        (["+preset=best"], ["+preset=best"]),  # a config group of the user's --config-dir
        (["--cfg", "job", "seed=1e1"], ["--cfg", "job", "seed=10"]),
        (["env.id=Taxi-v3"], ["env=generic", "env.id=Taxi-v3"]),
    ],
)
def test_prepare_normalises_the_overrides(arguments, expected):
    assert prepare(arguments) == expected


@pytest.mark.parametrize(
    "override, message",
    [
        (
            "+algo.learning_rat=0.1",
            "+algo.learning_rat=0.1: '+' cannot add keys to rlcli's schema, and "
            "algo.learning_rat is not one of its keys; did you mean algo.learning_rate?",
        ),
        ("++env.num_envz=2", "did you mean env.num_envs?"),
        ("+seed=1", "+seed=1: seed is already in the config; set it without the '+'"),
        ("+eval.every=5", "did you mean eval.every_steps?"),
    ],
)
def test_plus_on_a_schema_key_is_refused(override, message):
    with pytest.raises(UserError) as refused:
        prepare([override])
    assert message in str(refused.value)


def test_plus_plus_sets_an_existing_key():
    assert prepare(["++seed=1"]) == ["++seed=1"]


@pytest.mark.parametrize(
    "override, message",
    [
        ("algo=sac", "algo=sac is not an option of algo; options: bc, pg, ppo"),
        ("algo=ppo_schema", "algo=ppo_schema is not an option of algo; options: bc, pg, ppo"),
        ("env=cartpole", "env=cartpole is not an option of env (did you mean env=CartPole-v1?)"),
        (
            "network=Large",
            "network=Large is not an option of network (did you mean network=large?)",
        ),
        ("algo.learning_rat=0.1", "algo.learning_rat is not a key of rlcli's config; did you mean"),
        ("num_envs=2", "num_envs is not a key of rlcli's config; did you mean env.num_envs?"),
        ("env.kwargs.x=1", "env.kwargs.x is not set; add a key to env.kwargs with +env.kwargs.x=1"),
        ("seed=abc", "seed=abc: seed must be an integer"),
        ("algo.gamma=high", "algo.gamma=high: algo.gamma must be a number"),
        ("env.max_episode_steps=x", "env.max_episode_steps must be an integer or null"),
        ("network.hidden_sizes=wide", "network.hidden_sizes must be a list, e.g. [64,64]"),
        ("stop_when_solved=maybe", "stop_when_solved must be true or false"),
        ("seed=0,1", "seed=0,1 gives several values: sweep them with rlcli train -m seed=0,1"),
    ],
)
def test_composition_errors_are_one_line(compose_config, override, message):
    with pytest.raises(Exception) as failed:
        compose_config(override)
    explained = composition_error_message(failed.value)
    assert message in explained
    assert "\n" not in explained


def test_the_schemas_are_not_options_of_any_group(compose_config):
    loader = GlobalHydra.instance().config_loader()
    for group in ("algo", "env", "network"):
        options = loader.get_group_options(group, ObjectType.CONFIG)
        assert options and not [o for o in options if "schema" in o], (group, options)
