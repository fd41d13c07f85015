"""Tab completion for bash and zsh: ``eval "$(rlcli completion bash)"``.

The shell function sends the line up to the cursor to ``rlcli __complete <shell> <line>``, which
prints one candidate a line: commands, then for ``rlcli train`` Hydra's own completion of config
groups, options and keys (the schemas left out), for ``rlcli eval`` its options.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence

# The readline characters that end a word in bash (its default COMP_WORDBREAKS).
BASH_WORDBREAKS = " \t\n\"'><=;|&(:"

BASH_SCRIPT = """\
# rlcli tab completion for bash: eval "$(rlcli completion bash)" (e.g. in ~/.bashrc)
_rlcli_complete() {
    local IFS=$'\\n'
    COMPREPLY=($(COMP_WORDBREAKS="$COMP_WORDBREAKS" \\
        rlcli __complete bash "${COMP_LINE:0:$COMP_POINT}" 2>/dev/null))
    if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *[=./] ]]; then
        compopt -o nospace 2>/dev/null
    fi
}
complete -o default -F _rlcli_complete rlcli
"""

ZSH_SCRIPT = """\
# rlcli tab completion for zsh: eval "$(rlcli completion zsh)" (in ~/.zshrc, after compinit)
_rlcli() {
    local -a candidates
    candidates=("${(@f)$(rlcli __complete zsh "${BUFFER[1,CURSOR]}" 2>/dev/null)}")
    candidates=(${candidates:#})
    if (( ${#candidates} == 0 )); then
        _files
        return
    fi
    compadd -Q -S '' -- ${(M)candidates:#*[=./]}
    compadd -Q -- ${candidates:#*[=./]}
}
compdef _rlcli rlcli
"""

SCRIPTS = {"bash": BASH_SCRIPT, "zsh": ZSH_SCRIPT}
EVAL_OPTIONS = {
    "episodes=": [],
    "deterministic=": ["true", "false"],
    "video=": ["true", "false"],
    "video_episodes=": [],
    "seed=": [],
    "checkpoint=": ["final", "best", "latest"],
    "output=": [],
}


def script(shell: str) -> str:
    """The completion script to source in ``shell`` (bash or zsh)."""
    from rlcli.errors import UserError

    if shell not in SCRIPTS:
        raise UserError(f"no completion for shell {shell!r}; valid: {', '.join(SCRIPTS)}")
    return SCRIPTS[shell]


def _words(line: str) -> list[str]:
    try:
        words = shlex.split(line)
    except ValueError:  # an open quote: complete what there is
        words = line.split()
    if not line or line[-1].isspace():
        words.append("")
    return words


def _train_candidates(arguments: list[str]) -> list[str]:
    """Hydra's completion of ``rlcli train``'s config groups, options and keys."""
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from hydra.plugins.completion_plugin import CompletionPlugin

    from rlcli.config import register_configs

    class _Query(CompletionPlugin):  # only its query engine is used
        install = uninstall = query = help = provides = None  # type: ignore[assignment]

    register_configs()
    with initialize_config_module(config_module="rlcli.configs", version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        candidates = _Query(loader)._query("train", " ".join(arguments))
    return [c for c in candidates if not c.rstrip("=").endswith("_schema")]


def _eval_candidates(word: str) -> list[str]:
    if "=" in word:
        key = word.split("=", 1)[0] + "="
        return [key + value for value in EVAL_OPTIONS.get(key, [])]
    return list(EVAL_OPTIONS)


def candidates(line: str) -> list[str]:
    """Completions of the last word of ``line`` (the command line up to the cursor)."""
    from rlcli.cli import COMMANDS

    words = _words(line)[1:]  # without the program name
    if len(words) <= 1:
        return [name for name in COMMANDS if not name.startswith("_")]
    command, rest = words[0], words[1:]
    if command == "train":
        found = _train_candidates(rest)
    elif command == "eval":
        found = _eval_candidates(rest[-1])
    elif command == "completion":
        found = list(SCRIPTS)
    else:
        found = []
    return [c for c in found if c.startswith(rest[-1])]


def complete(shell: str, line: str) -> str:
    """What the shell function reads: one candidate a line, in the form the shell replaces."""
    words = _words(line)
    word = words[-1] if len(words) > 1 else ""
    found = [c for c in candidates(line) if c.startswith(word)]
    if shell == "bash":  # readline replaces only the text after the last word-break character
        breaks = os.environ.get("COMP_WORDBREAKS") or BASH_WORDBREAKS
        start = max((word.rfind(char) for char in breaks), default=-1) + 1
        found = [c[start:] for c in found]
    return "".join(f"{c}\n" for c in found)


def completion_command(arguments: Sequence[str]) -> None:
    """``rlcli completion <shell>``: print the script to source."""
    from rlcli.errors import UserError

    if len(arguments) != 1:
        raise UserError(f"completion takes one shell; valid: {', '.join(SCRIPTS)}")
    print(script(arguments[0]), end="")
