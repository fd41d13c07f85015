"""The wheel carries the configs, so a non-editable install works from any directory."""

import re
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


def readme_section(title: str) -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_readme_is_a_front_door():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 280, len(lines)
    rlhf = readme_section("RLHF: demonstrations, preferences, a KL leash")
    assert "rlcli rlhf env=" in rlhf and "[docs/rlhf.md](docs/rlhf.md)" in rlhf
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_readme_layout_names_every_module():
    layout = readme_section("Layout")
    for path in sorted((ROOT / "rlcli").glob("*.py")):
        assert path.name in layout, path.name
    for package in sorted(p for p in (ROOT / "rlcli").iterdir() if (p / "__init__.py").is_file()):
        assert f"rlcli/{package.name}/" in layout, package.name


def test_ci_runs_the_readmes_test_command():
    commands = readme_section("Two commands (Python 3.10+)")
    test_command = commands.split("```bash\n")[2].split("\n```", 1)[0]
    install_and_test = test_command.split("&& ", 2)[2]  # after creating and activating the venv
    ci = (ROOT / ".ci" / "run").read_text()
    assert install_and_test in ci.splitlines()


def test_docs_speak_to_users():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        text = page.read_text()
        assert not re.search(r"\b(issues?|targets?)\b", text, re.IGNORECASE), page.name
