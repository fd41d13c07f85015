"""compile=auto|true|false: when the update is compiled; it learns what the eager one does."""

import copy
import re

import pytest
import torch
from extras import needs_extra

from rlcli.algos.ppo import PPO
from rlcli.build.objects import build_learner, build_training_run, compile_update
from rlcli.compiling import compiled, marker, should_compile
from rlcli.envs import make_vector_env
from rlcli.errors import UserError
from rlcli.networks import ActorCritic
from rlcli.optim import Adam
from rlcli.rollout import RolloutCollector
from rlcli.train import checkpoint_payload


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))


def test_auto_compiles_when_the_saving_outweighs_the_compile_time(empty_cache):
    # 3.5e-4 s saved a gradient step: 10k steps save 3.5 s < 20 s cold; 100k save 35 s.
    assert not should_compile("auto", 10_000, "graph")
    assert should_compile("auto", 100_000, "graph")
    marker("graph").parent.mkdir(parents=True)
    marker("graph").touch()  # compiled here before: ~4 s with inductor's cache warm
    assert should_compile("auto", 20_000, "graph") and not should_compile("auto", 10_000, "graph")
    assert should_compile("True", 1, "graph") and not should_compile("false", 10**9, "graph")


def test_the_cartpole_quick_start_stays_eager(settings, empty_cache):
    config = settings("algo=ppo", "env=CartPole-v1", "eval.every_steps=5000", "compile=auto")
    learner = build_learner(config, torch.device("cpu"))
    assert compile_update(config, learner, torch.device("cpu")) is False
    assert learner.algo.compiled_loss is None


@pytest.mark.parametrize(
    "env", [pytest.param("HalfCheetah-v5", marks=needs_extra("HalfCheetah-v5"))]
)
def test_a_long_mujoco_run_compiles_under_auto_only(settings, empty_cache, env):
    by_default = settings("algo=ppo", f"env={env}")
    assert (
        compile_update(
            by_default, build_learner(by_default, torch.device("cpu")), torch.device("cpu")
        )
        is False
    )
    config = settings("algo=ppo", f"env={env}", "compile=auto")
    learner = build_learner(config, torch.device("cpu"))
    assert compile_update(config, learner, torch.device("cpu")) is True
    assert learner.algo.compiled_loss is not None


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
@pytest.mark.parametrize("num_minibatches", [1, 4])
def test_compiled_update_matches_the_eager_one(num_minibatches, env_id):
    # Episodes end inside the rollout, so the batch has fewer rows than num_envs x num_steps:
    # the compiled update pads its minibatches and masks the padding out.
    envs = make_vector_env(env_id, 2, max_episode_steps=20)
    torch.manual_seed(0)
    agent = ActorCritic(envs.single_observation_space, envs.single_action_space, [16], "tanh", True)
    rollout = RolloutCollector(envs, 64, 0, torch.device("cpu")).collect(agent)
    assert not rollout.valid.all()
    results = []
    for compile_it in (False, True):
        algo, learner = PPO(num_minibatches=num_minibatches, update_epochs=2), copy.deepcopy(agent)
        if compile_it:
            algo = algo.compile_update(lambda function: compiled(function, "test"))
        optimizer = Adam(learner.parameters(), 1e-3, 1e-5)
        torch.manual_seed(1)  # the same minibatch shuffles
        results.append((algo.update(learner, optimizer, rollout, 0.0), learner))
    (eager_stats, eager), (compiled_stats, compiled_agent) = results
    assert eager_stats == pytest.approx(compiled_stats, rel=1e-4, abs=1e-6)
    for first, second in zip(eager.parameters(), compiled_agent.parameters(), strict=True):
        assert torch.allclose(first, second, atol=1e-6)


def test_a_resume_keeps_the_choice_of_the_run_it_continues(settings, tmp_path, empty_cache):
    # auto decides from the budget and the cache; a resume must not switch arithmetic midway.
    config = settings("algo=ppo", "env=CartPole-v1", "env.num_envs=2", "algo.num_steps=64")
    run = build_training_run(config, tmp_path / "run")
    assert run.learner.compiled_update is False
    for saved in (True, False):
        payload = checkpoint_payload(run.learner, config, run.counters)
        payload["compiled_update"] = saved
        resumed = build_training_run(config, tmp_path / f"resumed_{saved}", resume=payload)
        assert resumed.learner.compiled_update is saved
        resumed.close()
    run.close()


@pytest.mark.parametrize(
    "override, message",
    [
        ("compile=maybe", "compile='maybe' is not one of auto, true, false"),
        ("env.vectorization=threads", "vectorization='threads' is not one of auto, sync, async"),
    ],
)
def test_a_bad_mode_is_refused_before_anything_is_built(settings, override, message):
    with pytest.raises(UserError, match=re.escape(message)):
        settings("algo=ppo", override)


def test_true_and_false_are_read_as_hydra_reads_them(settings):
    assert settings("algo=ppo", "compile=true").compile in ("True", "true")
    assert settings("algo=ppo", "compile=False").compile in ("False", "false")


@pytest.mark.parametrize("compile_it", [False, True])
def test_critic_warmup_holds_the_actor_and_trains_the_critic(compile_it):
    envs = make_vector_env("CartPole-v1", 2, max_episode_steps=20)
    torch.manual_seed(0)
    agent = ActorCritic(envs.single_observation_space, envs.single_action_space, [16], "tanh", True)
    rollout = RolloutCollector(envs, 64, 0, torch.device("cpu")).collect(agent)
    algo = PPO(num_minibatches=2, update_epochs=2, ent_coef=0.01, critic_warmup=0.25)
    if compile_it:
        algo = algo.compile_update(lambda function: compiled(function, "test"))
    optimizer = Adam(agent.parameters(), 1e-2, 1e-5)

    def actor_and_critic() -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        actor = [p.detach().clone() for n, p in agent.named_parameters() if "critic" not in n]
        return actor, [p.detach().clone() for p in agent.critic.parameters()]

    for progress, actor_moves in ((0.0, False), (0.2, False), (0.25, True)):
        actor_before, critic_before = actor_and_critic()
        algo.update(agent, optimizer, rollout, progress)
        actor_after, critic_after = actor_and_critic()
        moved = [not torch.equal(a, b) for a, b in zip(actor_before, actor_after, strict=True)]
        assert all(moved) if actor_moves else not any(moved)
        assert all(not torch.equal(a, b) for a, b in zip(critic_before, critic_after, strict=True))
