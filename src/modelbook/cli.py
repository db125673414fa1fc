"""The `modelbook` command (click). Each command is thin and delegates; nothing here imports torch at import
time (`list` and `show` must start in under 0.3 s), and every user error is one line, never a traceback.

click rather than typer: typer 0.29 builds on pydantic, which alone adds ~0.1 s to every start (decisions.md).
"""
from __future__ import annotations

import os
import sys

import click

LANG = click.option("--lang", "-l", default="en", show_default=True, type=click.Choice(["en", "zh"]), help="language")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(message="modelbook %(version)s", package_name="modelbook")
def app():
    """modelbook: the large-model engineering handbook you can run."""


def _console(stderr: bool = False):
    """The rich console every command prints to (stdout, or stderr where stdout carries JSON)."""
    from rich.console import Console

    return Console(stderr=stderr)


@app.command("list")
@LANG
@click.option("--labs", is_flag=True, help="list the labs instead of the topics")
def list_cmd(lang, labs):
    """The 48 topics (1-40 from the source, 41-48 beyond it; or the labs), their labs and their last result."""
    from modelbook import views

    views.print_list(_console(), lang, show_labs=labs)


@app.command()
@click.argument("target")
@LANG
def show(target, lang):
    """A topic's entry (TARGET = 1..48) or a lab's description (TARGET = lab name)."""
    from modelbook import views

    views.print_show(_console(), target, lang)


@app.command()
@click.argument("target", required=False)
@click.option("--all", "all_", is_flag=True, help="run every lab")
@click.option("--preset", "-p", default="quick", show_default=True, help="quick (seconds) or full (minutes, reproduces the references)")
@click.option("--seed", type=int, default=None, help="seed (default: the preset's)")
@click.option("--set", "set_", multiple=True, metavar="KEY=VALUE", help="override a config field (repeatable)")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON on stdout")
@click.option("--workers", "-w", default=1, show_default=True, type=click.IntRange(1, 64),
              help="labs run at once, each in its own process (each lab uses its Config.threads cores)")
def run(target, all_, preset, seed, set_, as_json, workers):
    """Run a lab, every lab of a topic, or --all; exit 1 if a reference comparison fails."""
    from modelbook import views
    from modelbook.core import registry
    from modelbook.core.errors import ModelbookError

    if all_ == (target is not None):
        raise ModelbookError("give a lab name or topic number, or --all (not both)")
    specs = registry.all_labs() if all_ else registry.resolve(target)
    ok = views.run_labs(_console(stderr=as_json), specs, preset, seed, tuple(set_), as_json, show_progress=sys.stderr.isatty(),
                        workers=workers)
    sys.exit(0 if ok else 1)


@app.command()
@click.argument("name", required=False)
@click.option("--run", "run_id", type=int, default=None, help="show one run in full")
@click.option("--limit", "-n", default=20, show_default=True, type=click.IntRange(min=1), help="how many runs")
@click.option("--json", "as_json", is_flag=True)
def results(name, run_id, limit, as_json):
    """The history of runs, newest first (or one run in full with --run ID)."""
    from modelbook import views

    views.print_results(_console(), name, run_id, limit, as_json)


@app.command()
@click.argument("name", required=False)
@click.option("--quick", is_flag=True, help="small sizes and few repeats (all six together in under a minute on 2 cores)")
@click.option("--json", "as_json", is_flag=True, help="print the results as JSON on stdout")
def bench(name, quick, as_json):
    """Side-by-side benchmarks (ours vs the library): median ratios of interleaved repeats, their spread, and how
    time grows with size; stored with the lab runs (see `modelbook results`). NAME: one of them (default: all).
    Exit 1 if a check fails (an exponent out of its band, a difference from the library)."""
    from modelbook import views

    ok = views.run_benches(_console(stderr=as_json), name, quick, as_json, show_progress=sys.stderr.isatty())
    sys.exit(0 if ok else 1)


@app.command()
@click.option("--system", default=None, help="system message (default: the model's own)")
@click.option("--max-new-tokens", default=256, show_default=True, type=click.IntRange(1, 4096), help="longest reply")
@click.option("--context", default=2048, show_default=True, type=click.IntRange(64, 8192),
              help="context window in tokens (SmolLM2 allows 8192; smaller is faster on a CPU)")
@click.option("--temperature", default=0.7, show_default=True, type=click.FloatRange(min=0.01), help="sampling temperature")
@click.option("--top-p", default=0.9, show_default=True, type=click.FloatRange(0.01, 1.0), help="nucleus sampling mass")
@click.option("--repetition-penalty", default=1.1, show_default=True, type=click.FloatRange(min=1.0), help="CTRL penalty θ")
@click.option("--greedy", is_flag=True, help="greedy decoding (deterministic) instead of sampling")
@click.option("--seed", default=0, show_default=True, help="seed of the sampler")
def chat(system, max_new_tokens, context, temperature, top_p, repetition_penalty, greedy, seed):
    """Chat with SmolLM2-135M-Instruct in the terminal: streaming replies, history, /reset, /exit."""
    from modelbook.chat_terminal import run_chat

    run_chat(system, max_new_tokens, context, temperature, top_p, repetition_penalty, greedy, seed)


@app.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to bind (loopback by default)")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--home", "folder", type=click.Path(file_okay=False), default=None,
              help="server folder: keys, tokens, audit log, registry (default $MODELBOOK_HOME/serve)")
@click.option("--models", default="fashion,minilm", show_default=True, help="models to serve (comma-separated)")
@click.option("--batching", is_flag=True, help="dynamic batching of concurrent predict requests")
@click.option("--chat", is_flag=True, help="also serve SmolLM2 chat at /v1/chat (loads on first use)")
@click.option("--chat-engine", type=click.Choice(["batched", "serial"]), default="batched", show_default=True,
              help="chat decoding: continuous batching over a paged KV cache, or one generate() at a time")
@click.option("--allowed-host", multiple=True, help="extra Host header to accept (needed when binding a public address)")
@click.option("--threads", type=click.IntRange(1, 1024), default=None, help="PyTorch intra-op threads")
@click.option("--new-token", "new_token", metavar="SCOPES", default=None,
              help="print a new token with these scopes (predict, admin; comma-separated) and exit")
@click.option("--publish", "publish", type=click.Choice(["fashion"]), default=None,
              help="train and publish the next version of this model (signed) and exit")
@click.option("--sample-request", is_flag=True, help="print a JSON body for /v1/models/fashion/predict and exit")
def serve(host, port, folder, models, batching, chat, chat_engine, allowed_host, threads, new_token, publish, sample_request):
    """Run the model server (FastAPI + uvicorn): versioned signed models, scoped tokens, audit log, hot swap."""
    from modelbook.serving import cli as serving_cli

    serving_cli.main(host, port, folder, models, batching, chat, allowed_host, threads, new_token, publish, sample_request,
                     chat_engine=chat_engine)


@app.command()
@click.argument("question", nargs=-1)
@click.option("-k", "k", default=5, show_default=True, type=click.IntRange(1, 48), help="how many topics")
@click.option("--lang", "-l", default=None, type=click.Choice(["en", "zh"]), help="search one language only (default: both)")
@click.option("--method", default="rrf", show_default=True, type=click.Choice(["rrf", "bm25", "dense", "minmax"]),
              help="fused (rrf), one retriever alone, or min-max score fusion")
@click.option("--json", "as_json", is_flag=True, help="print the ranked results as JSON")
@click.option("--eval", "evaluate", is_flag=True, help="instead: recall@1/@3 of every method on the evaluation set")
def ask(question, k, lang, method, as_json, evaluate):
    """Find the entries and sections that answer QUESTION (Chinese or English)."""
    from modelbook.handbook import ask as ask_module

    if evaluate:
        data = ask_module.evaluation(ask_module.load_index(progress=lambda m: print(m, file=sys.stderr))[0])
        if as_json:
            import json

            print(json.dumps(data, ensure_ascii=False, indent=2))
        else:
            ask_module.print_evaluation(_console(), data)
        return
    ask_module.print_answer(_console(), " ".join(question), k=k, lang=lang, method=method, as_json=as_json)


QUIZ_LANG = click.option("--lang", "-l", default="en", show_default=True, type=click.Choice(["en", "zh", "all"]), help="language of the cards")
QUIZ_TOPICS = click.option("--topics", "-t", default=None, metavar="LIST", help="topics to practise, e.g. 2,27-28 or 41-48 (default: all)")


def _langs(lang: str) -> tuple[str, ...]:
    return ("en", "zh") if lang == "all" else (lang,)


@app.group(invoke_without_command=True)
@QUIZ_LANG
@QUIZ_TOPICS
@click.option("--limit", "-n", default=20, show_default=True, type=click.IntRange(min=0), help="new cards per day")
@click.pass_context
def quiz(ctx, lang, topics, limit):
    """Spaced-repetition practice (FSRS) over the questions and follow-ups; `quiz stats`, `quiz export`."""
    if ctx.invoked_subcommand is not None:
        return
    from modelbook.quiz import session

    session.run_session(_console(), _langs(lang), session.parse_topics(topics), limit)


@quiz.command("stats")
@QUIZ_LANG
@QUIZ_TOPICS
@click.option("--json", "as_json", is_flag=True, help="print the numbers as JSON")
def quiz_stats(lang, topics, as_json):
    """Retention, cards by state, and what is due."""
    import json

    from modelbook.quiz import session

    data = session.stats(_langs(lang), session.parse_topics(topics))
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        session.print_stats(_console(), data)


@quiz.command("export")
@click.option("--anki", "anki", required=True, metavar="FILE", help="write an Anki deck (.apkg) here")
@QUIZ_LANG
@QUIZ_TOPICS
def quiz_export(anki, lang, topics):
    """Write the cards as an Anki deck."""
    from pathlib import Path

    from modelbook.core.store import Store
    from modelbook.quiz import anki as anki_module
    from modelbook.quiz import session
    from modelbook.quiz.cards import all_cards

    n = anki_module.export(all_cards(_langs(lang), session.parse_topics(topics)), Path(anki), Store().latest_value_lookup())
    print(f"wrote {n} cards to {anki}")


@app.command()
@click.option("--out", "-o", default=None, metavar="DIR", help="where to write the site (default: $MODELBOOK_HOME/report)")
@click.option("--pdf", is_flag=True, help="also write the whole handbook as one PDF per language (modelbook-en.pdf, modelbook-zh.pdf)")
def report(out, pdf):
    """Write the handbook as a static HTML site (searchable, from disk): the entries, the latest lab results and plots."""
    from pathlib import Path

    from modelbook.report.build import build_site

    index = build_site(Path(out) if out else None, say=lambda msg: print(msg, file=sys.stderr), pdf=pdf)
    print(f"wrote {index.parent}/ (open {index.resolve().as_uri()})")
    for f in sorted(index.parent.glob("modelbook-*.pdf")) if pdf else ():
        print(f"wrote {f}")


def main() -> None:
    """Entry point: run the app; turn ModelbookError into one line on stderr and its exit code."""
    from modelbook.core.errors import ModelbookError

    try:
        app.main(standalone_mode=False)
    except ModelbookError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.exceptions.NoArgsIsHelpError as e:  # bare `modelbook`: the help, not an error
        print(e.format_message())
        sys.exit(0)
    except click.UsageError as e:  # one line, like every other user error
        hint = f" (see `{e.ctx.command_path} --help`)" if e.ctx is not None else ""
        print(f"error: {e.format_message()}{hint}", file=sys.stderr)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        print(f"error: {e.format_message()}", file=sys.stderr)
        sys.exit(e.exit_code)
    except (click.Abort, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as e:
        if os.environ.get("MODELBOOK_DEBUG") == "1":
            raise
        print(f"error: {type(e).__name__}: {e} (set MODELBOOK_DEBUG=1 for the traceback)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
