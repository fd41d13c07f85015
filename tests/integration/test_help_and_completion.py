"""``rlcli --help``, ``rlcli train --help`` and tab completion through the shells themselves."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent  # the venv's bin/, where the rlcli console script lives


def shell_env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


def rlcli(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    command = [str(BIN / "rlcli"), *arguments]
    return subprocess.run(command, cwd=cwd, env=shell_env(), capture_output=True, text=True)


def test_usage_lists_every_command(tmp_path):
    usage = rlcli("--help", cwd=tmp_path).stdout
    for command in ("train", "eval", "report", "envs", "completion"):
        assert f"\n  {command} " in usage, usage
    assert "__complete" not in usage


def test_train_help_lists_groups_without_schemas(tmp_path):
    result = rlcli("train", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "\nalgo: bc, pg, ppo\n" in result.stdout
    assert "network: cnn, large, medium, small\n" in result.stdout
    assert "_schema" not in result.stdout
    assert 'eval "$(rlcli completion bash)"' in result.stdout


def test_envs_lists_matching_ids(tmp_path):
    result = rlcli("envs", "cartpole", cwd=tmp_path)
    assert result.returncode == 0 and "CartPole-v1\n" in result.stdout
    assert "Pendulum" not in result.stdout
    missing = rlcli("envs", "no-such-env", cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.startswith("rlcli: error: no registered")


BASH = """source <(rlcli completion bash)
complete -p rlcli
COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}
_rlcli_complete
printf '[%s]\\n' "${COMPREPLY[@]}"
"""

# Outside a completion widget, compadd and _files are stand-ins that print what they were given.
ZSH = """autoload -Uz compinit && compinit -u -D
eval "$(rlcli completion zsh)"
print -r -- "registered: $_comps[rlcli]"
compadd() { print -r -- "compadd $*" }
_files() { print -r -- "_files" }
BUFFER="$1"; CURSOR=${#BUFFER}
_rlcli
"""


def complete_in(shell: str, line: str, cwd: Path) -> str:
    script = BASH if shell == "bash" else ZSH
    command = [shell, "-c", script, shell, line]
    result = subprocess.run(command, cwd=cwd, env=shell_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(
    "line, expected",
    [
        ("rlcli tr", ["[train]"]),
        ("rlcli train algo=", ["[bc]", "[pg]", "[ppo]"]),  # readline completes the text after '='
        ("rlcli train env=CartP", ["[CartPole-v1]"]),
        ("rlcli train algo.learning_r", ["[algo.learning_rate=]"]),
        ("rlcli train algo=pg algo.use_b", ["[algo.use_baseline=]"]),  # keys of the chosen algo
        ("rlcli train network.activ", ["[network.activation=]"]),
        ("rlcli train -m seed=0,1 netw", ["[network.]", "[network=]"]),
        ("rlcli eval run checkpoint=b", ["[best]"]),
    ],
)
def test_bash_completion(tmp_path, line, expected):
    output = complete_in("bash", line, tmp_path)
    assert "complete -o default -F _rlcli_complete rlcli" in output
    assert [row for row in output.splitlines() if row.startswith("[")] == expected


def test_bash_completion_never_offers_a_schema(tmp_path):
    output = complete_in("bash", "rlcli train algo=", tmp_path)
    assert "schema" not in output


@pytest.mark.skipif(shutil.which("zsh") is None, reason="needs zsh (.ci/run installs it)")
@pytest.mark.parametrize(
    "line, expected",
    [
        ("rlcli train algo=p", ["compadd -Q -S  --", "compadd -Q -- algo=pg algo=ppo"]),
        ("rlcli train env.num", ["compadd -Q -S  -- env.num_envs=", "compadd -Q --"]),
        ("rlcli ev", ["compadd -Q -S  --", "compadd -Q -- eval"]),
        ("rlcli eval outputs/no-such-dir/", ["_files"]),
    ],
)
def test_zsh_completion(tmp_path, line, expected):
    output = complete_in("zsh", line, tmp_path).splitlines()
    assert output[0] == "registered: _rlcli"
    assert output[1:] == expected


def test_hydra_s_install_flag_prints_rlcli_s_script(tmp_path):
    result = rlcli("train", "--shell-completion", "install=bash", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == rlcli("completion", "bash", cwd=tmp_path).stdout
    assert "rlcli __complete bash" in result.stdout
    refused = rlcli("completion", "fish", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr == "rlcli: error: no completion for shell 'fish'; valid: bash, zsh\n"
