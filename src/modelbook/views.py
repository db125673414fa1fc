"""What the CLI prints: tables of topics, labs, results and checks (rich). No torch at import time."""
from __future__ import annotations

import ast
import json
from pathlib import Path

from modelbook.core.errors import ModelbookError

STATUS = {True: "[green]✓ pass[/]", False: "[red]✗ fail[/]", None: "[dim]— not run[/]"}


def _store():
    from modelbook.core.store import Store

    return Store()


def _fmt(x: float) -> str:
    if x != x:  # NaN
        return "nan"
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 1e5 or a < 1e-3:
        return f"{x:.3g}"
    if a >= 100:
        return f"{x:,.1f}"
    return f"{x:.4g}"


# -- list -------------------------------------------------------------------------------------------
def print_list(console, lang: str, show_labs: bool = False) -> None:
    from rich.table import Table

    from modelbook.core.registry import all_labs
    from modelbook.handbook import all_topics

    latest = _store().latest()
    if show_labs:
        table = Table(title="modelbook labs", title_justify="left")
        for col in ("lab", "topics", "title", "last run"):
            table.add_column(col)
        for spec in all_labs():
            row = latest.get(spec.name)
            table.add_row(spec.name, ", ".join(map(str, spec.topics)), spec.title, _status(row))
        console.print(table)
        return
    table = Table(title="modelbook: 40 topics" if lang == "en" else "modelbook：40 个主题", title_justify="left")
    for col in ("#", "topic" if lang == "en" else "主题", "labs" if lang == "en" else "实验", "last run" if lang == "en" else "最近结果"):
        table.add_column(col)
    for topic in all_topics():
        if topic.alias_of:
            table.add_row(str(topic.id), topic.title[lang], f"→ see {topic.alias_of}", "")
            continue
        labs = topic.labs
        statuses = [latest.get(name) for name in labs]
        if not labs:
            status = "[dim]no lab yet[/]"
        elif any(s is None for s in statuses):
            status = STATUS[None] if all(s is None for s in statuses) else "[yellow]partly run[/]"
        else:
            status = STATUS[all(s.passed for s in statuses)]
        table.add_row(str(topic.id), topic.title[lang], ", ".join(labs) or "", status)
    console.print(table)


def _status(row) -> str:
    if row is None:
        return STATUS[None]
    return f"{STATUS[row.passed]} ({row.preset}, {row.started_at[:10]})"


# -- show -------------------------------------------------------------------------------------------
def print_show(console, target: str, lang: str) -> None:
    if target.strip().isdigit():
        _show_topic(console, int(target), lang)
    else:
        _show_lab(console, target)


def _show_topic(console, n: int, lang: str) -> None:
    """The entry, with every {{lab:metric}} quote filled from the latest run of its lab, then a table of the
    latest results of the topic's labs (measured vs reference, pass/fail, source) after the Labs section."""
    from rich.markdown import Markdown

    from modelbook.handbook import get_topic
    from modelbook.handbook.loader import fill_values, value_names

    zh = lang == "zh"
    asked = get_topic(n, resolve_alias=False)
    topic = get_topic(n)
    if asked.alias_of:
        console.print(f"[dim]{'第 ' + str(n) + ' 题与第 ' + str(topic.id) + ' 题相同，显示第 ' + str(topic.id) + ' 题。' if zh else f'Topic {n} asks the same question as topic {topic.id}; showing {topic.id}.'}[/]\n")
    store = _store()
    latest = store.latest()
    text = topic.markdown(lang)
    quoted = list(dict.fromkeys(lab for lab, _ in value_names(text)))
    console.print(Markdown(fill_values(text, latest_value_lookup(store))))
    if quoted:
        runs = [f"{lab} ({_provenance(latest[lab])})" if lab in latest else f"{lab} ({'尚未运行' if zh else 'not run yet'})" for lab in quoted]
        console.print(f"[dim]{'文中的实测数字来自最近一次运行：' if zh else 'Measured numbers above come from the latest runs: '}{', '.join(runs)}[/]")
    rows = [(name, latest.get(name)) for name in topic.labs]
    if rows:
        console.print()
        console.print(_latest_results_table(store, rows, lang))
    if topic.status == "draft":
        console.print("[yellow]" + ("这一条目还是草稿：目前只写了问题。" if zh else "This entry is a draft: only the question is written so far.") + "[/]")


def _provenance(row) -> str:
    return f"{row.preset}, {row.started_at[:10]}, run #{row.id}"


def latest_value_lookup(store=None):
    """lookup(lab, metric) -> the metric's value in the lab's latest stored run, or None (not run / not measured)."""
    store = store or _store()
    latest = store.latest()
    results: dict = {}

    def lookup(lab: str, metric: str):
        if lab not in latest:
            return None
        if lab not in results:
            results[lab] = store.result(latest[lab].id)
        try:
            return results[lab].value(metric)
        except KeyError:
            return None

    return lookup


def _latest_results_table(store, rows, lang: str):
    """One table per lab: check, measured, reference (with its pass rule), pass/fail, source."""
    from rich.console import Group
    from rich.table import Table

    zh = lang == "zh"
    tables = []
    for name, row in rows:
        title = f"{'最新实验结果' if zh else 'Latest results'}: {name}"
        if row is None:
            tables.append(f"[bold]{title}[/] — [dim]{'尚未运行' if zh else 'not run yet'}: modelbook run {name}[/]")
            continue
        table = Table(title=f"{title} [dim]({_provenance(row)})[/]", title_justify="left", expand=True)
        heads = ("检查项", "实测", "参考值（规则）", "结果", "来源") if zh else ("check", "measured", "reference (rule)", "", "source")
        table.add_column(heads[0], ratio=3, overflow="fold")
        table.add_column(heads[1], no_wrap=True, justify="right")
        table.add_column(heads[2], no_wrap=True, justify="right")
        table.add_column(heads[3], no_wrap=True)
        table.add_column(heads[4], ratio=2, overflow="fold")
        for c in store.result(row.id).checks:
            mark = "[green]✓ pass[/]" if c.passed else "[red]✗ fail[/]"
            table.add_row(c.name, _fmt(c.measured), f"{_fmt(c.reference)}\n[dim]{c.criterion()}[/]", mark, c.source)
        tables.append(table)
    return Group(*tables)


def _show_lab(console, name: str) -> None:
    """A lab's docstring and its presets, read from the source with ast (no import, so no torch)."""
    from rich.markdown import Markdown
    from rich.table import Table

    from modelbook.core.registry import get

    spec = get(name)
    path = Path(__file__).parent / "labs" / (spec.module.rsplit(".", 1)[1] + ".py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    console.print(f"[bold]{spec.name}[/] — {spec.title}  (topics {', '.join(map(str, spec.topics))})\n")
    console.print(Markdown("```\n" + (ast.get_docstring(tree) or "") + "\n```"))
    fields, presets = _config_from_ast(tree)
    table = Table(title="Config", title_justify="left")
    for col in ("field", "default", *presets, "meaning"):
        table.add_column(col, overflow="fold")
    for fname, default, doc in fields:
        table.add_row(fname, default, *[presets[p].get(fname, "") for p in presets], doc)
    console.print(table)
    console.print(f"\nrun it: modelbook run {spec.name} [--preset quick|full] [--set key=value]")


def _config_from_ast(tree) -> tuple[list[tuple[str, str, str]], dict[str, dict[str, str]]]:
    fields: list[tuple[str, str, str]] = []
    presets: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Config":
            body = node.body
            for i, stmt in enumerate(body):
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    doc = ""
                    if i + 1 < len(body) and isinstance(body[i + 1], ast.Expr) and isinstance(getattr(body[i + 1], "value", None), ast.Constant):
                        doc = str(body[i + 1].value.value)
                    default = ast.unparse(stmt.value) if stmt.value is not None else ""
                    fields.append((stmt.target.id, default, doc.strip()))
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "PRESETS" for t in node.targets):
            if isinstance(node.value, ast.Dict):
                for k, v in zip(node.value.keys, node.value.values):
                    if isinstance(k, ast.Constant) and isinstance(v, ast.Call):
                        presets[str(k.value)] = {kw.arg: ast.unparse(kw.value) for kw in v.keywords if kw.arg}
    return fields, presets


# -- run --------------------------------------------------------------------------------------------
def run_labs(specs, preset: str, seed, overrides, as_json: bool, show_progress: bool) -> bool:
    """Run each lab in turn; print a result table per lab (or JSON). True if every check passed."""
    from modelbook.core import progress, runner

    console = _console(stderr=as_json)
    out, failed = [], []
    ok = True
    with progress.session(enabled=show_progress):
        for spec in progress.track(list(specs), "labs") if len(specs) > 1 else specs:
            try:
                with progress.status(f"running {spec.name} ({preset})"):
                    result, run_dir = runner.run(spec.name, preset=preset, seed=seed, overrides=overrides)
            except ModelbookError as e:
                if len(specs) == 1:
                    raise
                console.print(f"[bold red]error[/]: {spec.name}: {e}")  # one lab's problem does not stop the others
                failed.append(spec.name)
                ok = False
                continue
            ok &= result.passed
            if as_json:
                out.append(result.to_dict())
            else:
                print_result(console, result, run_dir)
    if as_json:
        print(json.dumps(out[0] if len(out) == 1 else out, indent=2, ensure_ascii=False, default=str))
    elif len(specs) > 1:
        console.print(f"[bold]{'all passed' if ok else 'some checks failed'}[/] ({len(specs)} labs"
                      + (f"; could not run: {', '.join(failed)}" if failed else "") + ")")
    return ok


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr)


def print_result(console, result, run_dir=None) -> None:
    from rich.table import Table

    env = result.env
    console.print(f"\n[bold]{result.lab}[/] ({result.preset}, seed {env.get('seed')}, {env.get('duration_s', 0):.1f} s, "
                  f"{env.get('threads')} threads, git {env.get('git', '?')})")
    metrics = Table(title="metrics", title_justify="left", show_edge=False)
    for col in ("name", "value", "unit"):
        metrics.add_column(col, justify="right" if col == "value" else "left")
    for m in result.metrics:
        metrics.add_row(m.name, _fmt(m.value), m.unit + (" (machine-dependent)" if m.volatile else ""))
    console.print(metrics)
    console.print("[bold]reference comparisons[/]")
    for c in result.checks:
        mark = "[green]✓[/]" if c.passed else "[red]✗[/]"
        console.print(f" {mark} {c.name}: measured [bold]{_fmt(c.measured)}[/], reference {_fmt(c.reference)} "
                      f"[dim]({c.criterion()})[/]", highlight=False)
        console.print(f"     [dim]{c.source}[/]" + (f"\n     [dim]note: {c.note}[/]" if c.note else ""), highlight=False)
    for note in result.notes:
        console.print(f"[dim]note:[/] {note}")
    if run_dir is not None and result.artifacts:
        console.print(f"plots: {run_dir}/ ({', '.join(result.artifacts)})")
    n, failed = len(result.checks), len(result.failed_checks)
    console.print(f"[bold green]PASS[/] {n}/{n} checks" if not failed else f"[bold red]FAIL[/] {failed} of {n} checks failed")


# -- results ----------------------------------------------------------------------------------------
def print_results(console, name, run_id, limit: int, as_json: bool) -> None:
    from rich.table import Table

    from modelbook.core.registry import get

    store = _store()
    if run_id is not None:
        result = store.result(run_id)
        if as_json:
            print(result.to_json())
        else:
            row = [r for r in store.history(result.lab, limit=10**9) if r.id == run_id]
            print_result(console, result, row[0].run_dir if row else None)
        return
    lab = get(name).name if name else None
    rows = store.history(lab, limit)
    if as_json:
        print(json.dumps([{**r.__dict__, "run_dir": str(r.run_dir)} for r in rows], indent=2))
        return
    if not rows:
        console.print("no runs recorded yet: try `modelbook run metrics`")
        return
    table = Table(title=f"runs of {lab}" if lab else "runs", title_justify="left")
    for col in ("id", "lab", "preset", "seed", "started (UTC)", "seconds", "checks", "status", "git"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r.id), r.lab, r.preset, str(r.seed), r.started_at.replace("T", " ").rstrip("Z"), f"{r.duration_s:.1f}",
                      f"{r.n_checks - r.n_failed}/{r.n_checks}", STATUS[r.passed], r.git)
    console.print(table)
