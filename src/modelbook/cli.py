"""The `modelbook` command. Each command is thin and delegates; nothing here imports torch at import time
(`list` and `show` must start in well under 0.3 s), and every user error is one line, never a traceback.
"""
from __future__ import annotations

import json
import os
import sys
from typing import List, Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="modelbook: the large-model engineering handbook you can run.")

LangOpt = typer.Option("en", "--lang", "-l", help="en or zh")


def _version(value: bool):
    if value:
        from modelbook import __version__

        print(f"modelbook {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="print the version")):
    """modelbook: the large-model engineering handbook you can run."""


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=False)


def _lang(lang: str) -> str:
    from modelbook.core.errors import ModelbookError

    if lang not in ("en", "zh"):
        raise ModelbookError(f"unknown language '{lang}': use en or zh")
    return lang


@app.command("list")
def list_cmd(lang: str = LangOpt, labs: bool = typer.Option(False, "--labs", help="list the labs instead of the topics")):
    """The 40 topics (or the labs), with the labs that back them and their last result."""
    from modelbook import views

    views.print_list(_console(), _lang(lang), show_labs=labs)


@app.command()
def show(target: str = typer.Argument(..., help="a topic number (1-40) or a lab name"), lang: str = LangOpt):
    """A topic's entry (question, answer, follow-ups, pitfalls, lab results), or a lab's description."""
    from modelbook import views

    views.print_show(_console(), target, _lang(lang))


@app.command()
def run(
    target: Optional[str] = typer.Argument(None, help="a lab name or a topic number"),
    all_: bool = typer.Option(False, "--all", help="run every lab"),
    preset: str = typer.Option("quick", "--preset", "-p", help="quick (seconds) or full (minutes, reproduces the references)"),
    seed: Optional[int] = typer.Option(None, "--seed", help="seed (default: the preset's)"),
    set_: List[str] = typer.Option([], "--set", help="override a config field: --set key=value (repeatable)"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON on stdout"),
):
    """Run a lab (or every lab of a topic, or --all); exit 1 if a reference comparison fails."""
    from modelbook import views
    from modelbook.core import registry
    from modelbook.core.errors import ModelbookError

    if all_ == (target is not None):
        raise ModelbookError("give a lab name or topic number, or --all (not both)")
    specs = registry.all_labs() if all_ else registry.resolve(target)
    ok = views.run_labs(specs, preset, seed, tuple(set_), as_json, show_progress=sys.stderr.isatty())
    raise typer.Exit(0 if ok else 1)


@app.command()
def results(
    name: Optional[str] = typer.Argument(None, help="a lab name (default: every lab)"),
    run_id: Optional[int] = typer.Option(None, "--run", help="show one run in full"),
    limit: int = typer.Option(20, "--limit", "-n"),
    as_json: bool = typer.Option(False, "--json"),
):
    """The history of runs, newest first (or one run in full with --run ID)."""
    from modelbook import views

    views.print_results(_console(), name, run_id, limit, as_json)


def main() -> None:
    """Entry point: run the app; turn ModelbookError into one line on stderr and its exit code."""
    from modelbook.core.errors import ModelbookError

    debug = os.environ.get("MODELBOOK_DEBUG") == "1"
    try:
        rc = app(standalone_mode=False)
        if isinstance(rc, int):  # click returns the code of a typer.Exit in non-standalone mode
            sys.exit(rc)
    except ModelbookError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as e:  # click usage errors come here in standalone_mode=False
        import click

        if isinstance(e, click.exceptions.ClickException):
            e.show()
            sys.exit(e.exit_code)
        if debug:
            raise
        print(f"error: {type(e).__name__}: {e} (set MODELBOOK_DEBUG=1 for the traceback)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
