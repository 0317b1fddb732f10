"""The documentation a user reads stays true to the code: every setting is in the README's
configuration table, every command and option of the CLI has help, the links between the
documents resolve."""

import argparse
import re
from pathlib import Path

from gql import cli
from gql.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_the_configuration_table() -> None:
    table = README[README.index("### Configuration") :]
    undocumented = [
        f"LEARNTRACK_{name.upper()}"
        for name in Settings.model_fields
        if name != "database_url" and f"`LEARNTRACK_{name.upper()}`" not in table
    ]
    assert not undocumented, f"settings missing from README's configuration: {undocumented}"


def _parsers(
    parser: argparse.ArgumentParser, path: str
) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(path, parser)]
    for action in parser._actions:  # argparse has no public walk over subcommands
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _parsers(sub, f"{path} {name}")
    return found


def test_every_command_and_option_of_the_cli_has_help() -> None:
    missing = []
    for path, parser in _parsers(cli.parser(), "learntrack"):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {choice.dest: choice.help for choice in action._choices_actions}
                missing += [f"{path} {name}" for name in action.choices if not helps.get(name)]
            elif not action.help:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, f"no help for: {missing}"


def test_relative_links_in_the_documents_resolve() -> None:
    broken = []
    for document in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = document.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            if not (document.parent / target).exists():
                broken.append(f"{document.relative_to(ROOT)} -> {target}")
    assert not broken, f"links to nothing: {broken}"
