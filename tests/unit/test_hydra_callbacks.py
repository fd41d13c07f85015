"""The multirun callbacks: a report that cannot be written never fails the sweep; failed jobs are
summarised for rlcli train."""

import json
import logging

from omegaconf import OmegaConf

from rlcli.hydra_callbacks import FailedJobs, ReportCallback, failed_jobs_summary


def test_callback_logs_instead_of_failing_the_sweep(tmp_path, caplog):
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path / "missing")}}})
    callback = ReportCallback()
    callback.on_multirun_start(config)
    with caplog.at_level(logging.WARNING, logger="rlcli"):
        callback.on_multirun_end(config)
    assert "sweep report not written: UserError" in caplog.text


def test_failed_jobs_summary_names_the_failed_jobs_of_the_last_multirun(tmp_path):
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    callback = FailedJobs()
    callback.on_multirun_start(config)
    callback.on_multirun_end(config)
    assert failed_jobs_summary() is None
    (tmp_path / "1_seed1").mkdir()
    record = {"job": 1, "overrides": ["seed=1"], "kind": "user error", "error": "bad value"}
    (tmp_path / "1_seed1" / "failed.json").write_text(json.dumps(record))
    callback.on_multirun_end(config)
    assert failed_jobs_summary() == (
        f"1 job failed: #1 (seed=1): bad value; see {tmp_path}/*/failed.json"
    )
    callback.on_multirun_start(config)
    assert failed_jobs_summary() is None
