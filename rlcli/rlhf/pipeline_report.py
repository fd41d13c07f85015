"""The pipeline's report: one table and one plot of true return against env steps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rlcli.settings import PipelineConfig

CURVES = ("rlhf", "control", "ppo_true_reward")


def _row(name: str, summary: dict[str, Any]) -> str:
    def number(key: str, digits: int = 1) -> str:
        value = summary.get(key)
        return "-" if value is None else f"{value:,.{digits}f}"

    return (
        f"| {name} | {number('final_eval_mean_return')} | {number('best_eval_mean_return')} | "
        f"{summary.get('global_step', '-')} | {number('final_rlhf_labels', 0)} | "
        f"{number('final_rlhf_kl_average', 4)} | {number('final_rlhf_beta', 4)} |"
    )


def eval_curve(run_dir: Path) -> list[tuple[int, float]]:
    """(step, eval/mean_return) points of a run's TensorBoard events."""
    from rlcli.report.curves import CURVE_TAG, read_scalars

    return sorted(read_scalars(run_dir).get(CURVE_TAG, []))


def write_pipeline_report(
    out: Path, summaries: dict[str, dict[str, Any]], config: PipelineConfig
) -> Path:
    """report.md (every stage's true evaluation return, labels, KL) and report.png."""
    lines = [
        f"# RLHF pipeline: {config.env}, seed {config.seed}",
        "",
        "True-reward evaluation (10 episodes unless the preset says otherwise).",
        "",
        "| stage | final eval return | best eval return | steps | labels | final KL | beta |",
        "|---|---|---|---|---|---|---|",
    ]
    collected = out / "demonstrations" / "collect.json"
    if collected.is_file():
        demo = json.loads(collected.read_text())
        lines.append(
            f"| demonstrations | {demo['mean_return']:,.1f} | - | {demo['steps']} | - | - | - |"
        )
    for name, summary in summaries.items():
        if name.startswith("reward_model"):
            continue
        lines.append(_row(name, summary))
    models = {name: s for name, s in summaries.items() if name.startswith("reward_model")}
    if models:
        lines += ["", "| reward model | labels | held-out pair accuracy | corr. with true return |"]
        lines.append("|---|---|---|---|")
        for name, summary in models.items():
            lines.append(
                f"| {name} | {summary['labels']} | {summary['validation_accuracy']:.3f} | "
                f"{summary['true_return_correlation']:.3f} |"
            )
    (out / "report.md").write_text("\n".join(lines) + "\n")
    _plot(out, summaries, config)
    return out / "report.md"


def _plot(out: Path, summaries: dict[str, dict[str, Any]], config: PipelineConfig) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4))
    for name in CURVES:
        if name in summaries:
            points = eval_curve(out / name)
            if points:
                steps, values = zip(*points, strict=True)
                axes.plot(steps, values, marker="o", markersize=3, label=name)
    for name, style in (("sft", ":"), ("demonstrator", "--")):
        if name in summaries:
            value = summaries[name]["final_eval_mean_return"]
            axes.axhline(value, linestyle=style, color="grey", label=f"{name} ({value:.0f})")
    axes.set_xlabel("env steps")
    axes.set_ylabel("true evaluation return")
    axes.set_title(f"RLHF on {config.env} (seed {config.seed})")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(out / "report.png", dpi=100)
    plt.close(figure)
