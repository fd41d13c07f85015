"""The shared ``<paths> key=value`` grammar of eval, collect and report."""

from pathlib import Path

import pytest

from rlcli.arguments import parse_path_and_options, parse_paths_and_options
from rlcli.errors import UserError
from rlcli.report.command import report_command

KINDS = {"episodes": int, "video": bool, "out": Path}


def test_paths_and_typed_options_in_any_order():
    paths, options = parse_paths_and_options(
        "report", ["a", "episodes=3", "b", "video=no", "out=x/y"], KINDS
    )
    assert paths == [Path("a"), Path("b")]
    assert options == {"episodes": 3, "video": False, "out": Path("x/y")}


def test_a_value_keeps_its_own_equals_signs():
    _, options = parse_paths_and_options("report", ["out=a=b"], KINDS)
    assert options["out"] == Path("a=b")


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("episodes=three", "episodes='three' is not a valid int"),
        ("video=maybe", "video='maybe' is not a boolean; use true or false"),
        (
            "epsiodes=3",
            r"unknown eval option 'epsiodes' \(did you mean episodes\?\); valid: episodes, video",
        ),
    ],
)
def test_bad_options_name_the_key_and_what_is_valid(argument, message):
    with pytest.raises(UserError, match=message):
        parse_paths_and_options("eval", ["run", argument], KINDS)


def test_single_path_commands_refuse_none_or_two():
    for arguments in (["episodes=1"], ["a", "b"]):
        with pytest.raises(UserError, match="needs exactly one run directory"):
            parse_path_and_options("eval", arguments, KINDS)


def test_report_reads_its_options_through_the_same_grammar():
    with pytest.raises(
        UserError, match=r"unknown report option 'outdir' \(did you mean out\?\); valid: out"
    ):
        report_command(["sweep", "outdir=x"])
