"""What a run says at its end, and the names TensorBoard's HPARAMS rows get."""

from pathlib import Path

from rlcli.console import end_of_run_summary, progress_line
from rlcli.metrics import trial_name
from rlcli.records import RunSummary


def summary(**changes) -> RunSummary:
    values = dict(
        algo="ppo",
        env_id="CartPole-v1",
        seed=1,
        global_step=20_224,
        iterations=79,
        wall_seconds=6.14,
        sps=3_500.0,
        final_eval_mean_return=500.0,
        final_eval_std_return=0.0,
        final_eval_returns=[500.0] * 10,
        best_eval_mean_return=500.0,
        first_solved_step=20_224,
        first_solved_seconds=5.0,
        reward_threshold=500.0,
        exact_resume=True,
    )
    return RunSummary(**{**values, **changes})


def test_a_run_stopped_at_the_preset_threshold_says_so_and_names_gymnasiums():
    text = end_of_run_summary(summary(), Path("/runs/a"), 99_840, spec_threshold=475.0)
    assert text.splitlines() == [
        "done: ppo on CartPole-v1 (seed 1) solved at step 20,224 and stopped there "
        "(threshold 500 set by the preset; gymnasium's is 475)",
        "  final eval 500.0 +- 0.0 over 10 episodes, best 500.0; 20,224 of 99,840 steps in 6.1 s",
        "  run directory: /runs/a",
        "  next: rlcli eval /runs/a video=true",
        "        tensorboard --logdir /runs/a",
        "        rlcli report /runs/a",
    ]


def test_a_run_that_never_reached_the_threshold():
    unsolved = summary(
        global_step=99_840,
        final_eval_mean_return=210.5,
        final_eval_std_return=12.25,
        best_eval_mean_return=388.0,
        first_solved_step=None,
        reward_threshold=475.0,
    )
    first, second = end_of_run_summary(unsolved, Path("/r"), 99_840, 475.0).splitlines()[:2]
    assert first == (
        "done: ppo on CartPole-v1 (seed 1) not solved: no evaluation reached 475 "
        "(gymnasium's threshold 475)"
    )
    assert second.startswith("  final eval 210.5 +- 12.2 over 10 episodes, best 388.0; 99,840")


def test_an_env_without_a_threshold_and_a_run_solved_without_stopping():
    free = summary(env_id="Pendulum-v1", reward_threshold=None, first_solved_step=None)
    first = end_of_run_summary(free, Path("/r"), 20_224, None).splitlines()[0]
    assert first == (
        "done: ppo on Pendulum-v1 (seed 1) finished (Pendulum-v1 has no reward threshold "
        "(set one with env.reward_threshold=...))"
    )
    solved = end_of_run_summary(summary(), Path("/r"), 20_224, 500.0).splitlines()[0]
    assert solved.endswith("solved at step 20,224 (gymnasium's threshold 500)")


def test_the_progress_line_shows_both_returns():
    line = progress_line(40_192, 99_840, 3_210.4, 142.83, 500.0)
    assert line == ("step    40,192/99,840 ( 40.3%)     3,210 SPS  return    142.8  eval    500.0")


def test_trial_names_are_short_and_distinct():
    runs = Path("outputs/runs/2026-11-25")
    sweep = Path("outputs/multirun/2026-11-25/18-27-01")
    assert trial_name(runs / "17-35-50-212771_ppo_CartPole-v1_seed0") == (
        "17-35-50_ppo_CartPole-v1_seed0"
    )
    assert trial_name(sweep / "3_ppo_CartPole-v1_seed1") == "18-27-01/3_ppo_CartPole-v1_seed1"
    assert trial_name(Path("my_run")) == "my_run"
