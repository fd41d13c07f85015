"""The wheel carries the configs, so a non-editable install works from any directory."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_ships_every_config(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("rlcli-*.whl")
    shipped = {name for name in zipfile.ZipFile(wheel).namelist() if name.endswith(".yaml")}
    expected = {
        "rlcli/configs/" + str(path.relative_to(ROOT / "configs"))
        for path in (ROOT / "configs").rglob("*.yaml")
    }
    assert expected and expected == shipped


def test_readme_documents_every_metric_tag():
    from rlcli.metrics import METRIC_TAGS

    readme = (ROOT / "README.md").read_text()
    for tag in METRIC_TAGS:
        assert f"| `{tag}` |" in readme, tag
