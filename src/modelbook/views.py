"""What the CLI prints: tables of topics, labs, results and checks (rich). No torch at import time.

Only printing: the results store answers the queries (core/store.py), the lab table reads a lab's Config
(core/registry.py), numbers are formatted by core/format.py, and the console is the caller's (cli.py).
"""
from __future__ import annotations

import json

from modelbook.core.errors import ModelbookError
from modelbook.core.format import fmt_number

STATUS = {True: "[green]✓ pass[/]", False: "[red]✗ fail[/]", None: "[dim]— not run[/]"}


def _store():
    from modelbook.core.store import Store

    return Store()


# -- list -------------------------------------------------------------------------------------------
def print_list(console, lang: str, show_labs: bool = False) -> None:
    from rich.table import Table

    from modelbook.core.registry import all_labs

    store = _store()
    quick, full = store.latest("quick"), store.latest("full")
    if show_labs:
        table = Table(title="modelbook labs", title_justify="left")
        for col in ("lab", "topics", "title", "latest quick run", "latest full run"):
            table.add_column(col)
        for spec in all_labs():
            table.add_row(spec.name, ", ".join(map(str, spec.topics)), spec.title, _status(quick.get(spec.name)),
                          _status(full.get(spec.name)))
        console.print(table)
        return
    from modelbook.handbook.loader import BEYOND_BY_ID, PART_SPAN, PARTS, catalogue

    zh = lang == "zh"
    topics = catalogue()
    written = sum(not t.planned for t in topics)
    title = (f"modelbook：{len(topics)} 个主题（已写 {written} 个）" if zh
             else f"modelbook: {len(topics)} topics ({written} written)")
    table = Table(title=title, title_justify="left")
    cols = ("#", "主题", "实验", "quick 结果", "full 结果") if zh else ("#", "topic", "labs", "quick run", "full run")
    for col in cols:
        table.add_column(col)
    current = None
    for topic in topics:
        if topic.part != current:  # a heading row opens each part: 1–40 from the source, 41–48 beyond it
            if current is not None:
                table.add_section()
            current = topic.part
            table.add_row("", f"[bold]{PARTS[current][lang]}[/] [dim]({PART_SPAN[current]})[/]", "", "", "", end_section=True)
        if topic.alias_of:
            table.add_row(str(topic.id), topic.title[lang], f"→ see {topic.alias_of}", "", "")
            continue
        if topic.planned:
            b = BEYOND_BY_ID[topic.id]
            labs = ", ".join(topic.labs) or f"[dim]{b.lab} ({'计划中' if zh else 'planned'})[/]"
            note = f"[dim]{'尚未编写' if zh else 'not written yet'} (issue {b.issue})[/]"
            table.add_row(str(topic.id), f"{topic.title[lang]} — {note}", labs,
                          _topic_status(topic.labs, quick) if topic.labs else "", _topic_status(topic.labs, full) if topic.labs else "")
            continue
        table.add_row(str(topic.id), topic.title[lang], ", ".join(topic.labs),
                      _topic_status(topic.labs, quick), _topic_status(topic.labs, full))
    console.print(table)


def _topic_status(labs, latest) -> str:
    statuses = [latest.get(name) for name in labs]
    if not labs:
        return "[dim]no lab yet[/]"
    if any(s is None for s in statuses):
        return STATUS[None] if all(s is None for s in statuses) else "[yellow]partly run[/]"
    return STATUS[all(s.passed for s in statuses)]


def _status(row) -> str:
    if row is None:
        return STATUS[None]
    return f"{STATUS[row.passed]} ({row.n_checks - row.n_failed}/{row.n_checks}, {row.started_at[:10]})"


# -- show -------------------------------------------------------------------------------------------
def print_show(console, target: str, lang: str) -> None:
    if target.strip().isdigit():
        _show_topic(console, int(target), lang)
    else:
        _show_lab(console, target)


def _show_topic(console, n: int, lang: str) -> None:
    """The entry, with every {{lab:metric}} quote filled from the latest run of its lab, then a table of the
    latest results of the topic's labs (measured vs reference, pass/fail, source) after the Labs section."""
    from modelbook.handbook import get_topic
    from modelbook.handbook.loader import PART_SPAN, PARTS, fill_values, value_names
    from modelbook.report.markdown import terminal  # the site's parser: emphasis beside 中文 punctuation, $math$

    zh = lang == "zh"
    asked = get_topic(n, resolve_alias=False)
    topic = get_topic(n)
    if topic.part == "beyond":
        console.print(f"[dim]{PARTS['beyond'][lang]} ({PART_SPAN['beyond']})[/]")
    if asked.alias_of:
        console.print(f"[dim]{'第 ' + str(n) + ' 题与第 ' + str(topic.id) + ' 题相同，显示第 ' + str(topic.id) + ' 题。' if zh else f'Topic {n} asks the same question as topic {topic.id}; showing {topic.id}.'}[/]\n")
    store = _store()
    latest = store.latest()
    text = topic.markdown(lang)
    quoted = list(dict.fromkeys(lab for lab, _ in value_names(text)))
    console.print(terminal(fill_values(text, store.latest_value_lookup())))
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
        result = store.result_or_none(row.id)  # a damaged run: a warning naming it, and the table goes on
        if result is None:
            tables.append(f"[bold]{title}[/] — [dim]{'运行记录已损坏' if zh else 'the latest run is damaged'} (run #{row.id})[/]")
            continue
        table = Table(title=f"{title} [dim]({_provenance(row)})[/]", title_justify="left", expand=True)
        heads = ("检查项", "实测", "参考值（规则）", "结果", "来源") if zh else ("check", "measured", "reference (rule)", "", "source")
        table.add_column(heads[0], ratio=3, overflow="fold")
        table.add_column(heads[1], no_wrap=True, justify="right")
        table.add_column(heads[2], no_wrap=True, justify="right")
        table.add_column(heads[3], no_wrap=True)
        table.add_column(heads[4], ratio=2, overflow="fold")
        for c in result.checks:
            mark = "[green]✓ pass[/]" if c.passed else "[red]✗ fail[/]"
            table.add_row(c.name, fmt_number(c.measured), f"{fmt_number(c.reference)}\n[dim]{c.criterion()}[/]", mark, c.source)
        tables.append(table)
    return Group(*tables)


def _show_lab(console, name: str) -> None:
    """A lab's docstring and its presets, read from the source (no import, so no torch)."""
    from rich.markdown import Markdown
    from rich.table import Table

    from modelbook.core.registry import describe, get

    spec = get(name)
    doc, fields, presets = describe(spec)
    console.print(f"[bold]{spec.name}[/] — {spec.title}  (topics {', '.join(map(str, spec.topics))})\n")
    console.print(Markdown("```\n" + doc + "\n```"))
    table = Table(title="Config", title_justify="left")
    for col in ("field", "default", *presets, "meaning"):
        table.add_column(col, overflow="fold")
    for fname, default, fdoc in fields:
        table.add_row(fname, default, *[presets[p].get(fname, "") for p in presets], fdoc)
    console.print(table)
    console.print(f"\nrun it: modelbook run {spec.name} [--preset quick|full] [--set key=value]")


# -- run --------------------------------------------------------------------------------------------
def run_labs(console, specs, preset: str, seed, overrides, as_json: bool, show_progress: bool, workers: int = 1) -> bool:
    """Run each lab, in turn or `workers` at a time in separate processes, and print a result table per lab on
    `console` as soon as the labs before it in the table have printed (so the order is the table's either way);
    with `as_json`, the results as JSON on stdout (then `console` should write to stderr). True if every check
    passed."""
    from modelbook.core import progress, runner

    specs = list(specs)
    done: dict[str, tuple] = {}  # lab -> (result, run_dir), or (None, error message) for a lab that could not run
    out, failed = [], []
    ok = True

    def emit_ready() -> None:  # print every finished lab whose predecessors in the table have printed
        nonlocal ok
        while len(out) + len(failed) < len(specs) and specs[len(out) + len(failed)].name in done:
            name = specs[len(out) + len(failed)].name
            result, run_dir = done[name]
            if result is None:
                console.print(f"[bold red]error[/]: {name}: {run_dir}")
                failed.append(name)
                ok = False
                continue
            ok &= result.passed
            out.append(result.to_dict() if as_json else None)
            if not as_json:
                print_result(console, result, run_dir)

    with progress.session(enabled=show_progress):
        if workers > 1 and len(specs) > 1:
            outcomes = runner.run_parallel([s.name for s in specs], preset, seed, overrides, workers)
            for name, result, run_dir, error in progress.track(outcomes, f"labs ({workers} processes)", total=len(specs)):
                done[name] = (result, run_dir) if error is None else (None, error)
                emit_ready()
        else:
            for spec in progress.track(specs, "labs") if len(specs) > 1 else specs:
                try:
                    with progress.status(f"running {spec.name} ({preset})"):
                        done[spec.name] = runner.run(spec.name, preset=preset, seed=seed, overrides=overrides)
                except ModelbookError as e:
                    if len(specs) == 1:
                        raise
                    done[spec.name] = (None, str(e))  # one lab's problem does not stop the others
                emit_ready()
    if as_json:
        print(json.dumps(out[0] if len(out) == 1 else out, indent=2, ensure_ascii=False, default=str))
    elif len(specs) > 1:
        console.print(f"[bold]{'all passed' if ok else 'some checks failed'}[/] ({len(specs)} labs"
                      + (f"; could not run: {', '.join(failed)}" if failed else "") + ")")
    return ok


def print_result(console, result, run_dir=None) -> None:
    from rich.table import Table

    env = result.env
    console.print(f"\n[bold]{result.lab}[/] ({result.preset}, seed {env.get('seed')}, {env.get('duration_s', 0):.1f} s, "
                  f"{env.get('threads')} threads, git {env.get('git', '?')})")
    metrics = Table(title="metrics", title_justify="left", show_edge=False)
    for col in ("name", "value", "unit"):
        metrics.add_column(col, justify="right" if col == "value" else "left")
    for m in result.metrics:
        metrics.add_row(m.name, fmt_number(m.value), m.unit + (" (machine-dependent)" if m.volatile else ""))
    console.print(metrics)
    console.print("[bold]reference comparisons[/]")
    for c in result.checks:
        mark = "[green]✓[/]" if c.passed else "[red]✗[/]"
        console.print(f" {mark} {c.name}: measured [bold]{fmt_number(c.measured)}[/], reference {fmt_number(c.reference)} "
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

    store = _store()
    if run_id is not None:
        row = store.run(run_id)  # a damaged row or result: one line naming the run (exit 2)
        result = store.result(run_id)
        if as_json:
            print(result.to_json())
        else:
            print_result(console, result, row.run_dir if row is not None else None)
            from modelbook import bench

            if bench.is_bench(result.lab):
                console.print(bench_table([result]))
        return
    lab = _results_name(name) if name else None
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


def _results_name(name: str) -> str:
    """The stored name a `modelbook results NAME` asks for: a lab's, else a benchmark's ("bench-<name>")."""
    from modelbook import bench
    from modelbook.core.registry import all_labs, get

    if name.strip().lower().replace("_", "-") not in {s.name for s in all_labs()}:
        try:
            return bench.PREFIX + bench.get(name).name
        except ModelbookError:
            pass
    return get(name).name


# -- bench ------------------------------------------------------------------------------------------
def run_benches(console, name, quick: bool, as_json: bool, show_progress: bool = False) -> bool:
    """Run one benchmark (or all), store each run, then print one table of ratios (or JSON on stdout). True if every
    benchmark ran and every check passed."""
    from modelbook import bench
    from modelbook.core import progress

    specs = [bench.get(name)] if name else list(bench.BENCHES)  # an unknown name: one line naming the known ones
    results, failed = [], []
    with progress.session(enabled=show_progress):
        for spec in specs:
            try:
                with progress.status(f"bench {spec.name} ({'quick' if quick else 'full'})"):
                    result, run_id = bench.run_bench(spec.name, quick)
            except ModelbookError as e:
                if len(specs) == 1:
                    raise
                console.print(f"[bold red]error[/]: bench {spec.name}: {e}")
                failed.append(spec.name)
                continue
            results.append(result)
            if not as_json:
                console.print(f"[dim]bench {spec.name}: {result.env.get('duration_s', 0):.1f} s, run #{run_id}[/]")
    ok = not failed and all(r.passed for r in results)
    if as_json:
        print(json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False, default=str))
        return ok
    console.print(bench_table(results))
    for r in results:
        for c in r.checks:
            mark = "[green]✓[/]" if c.passed else "[red]✗[/]"
            console.print(f" {mark} {r.lab}: {c.name}: {fmt_number(c.measured)} [dim]({c.criterion()}, ref "
                          f"{fmt_number(c.reference)}; {c.source})[/]", highlight=False)
    env = results[0].env if results else {}
    console.print(f"[dim]{env.get('cpu', '?')}, torch threads {env.get('threads')}, git {env.get('git', '?')}; "
                  f"ratios are medians of interleaved repeats (ours / the other), spread over the same repeats[/]")
    if failed:
        console.print(f"[red]could not run: {', '.join(failed)}[/]")
    return ok


def bench_table(results):
    """One table of every ratio and fitted exponent in `results` (bench LabResults)."""
    from rich.table import Table

    from modelbook.bench.harness import table_rows

    table = Table(title="modelbook bench: time ratios (median of interleaved repeats; < 1: the first is faster) and "
                        "fitted exponents of time or memory against size", title_justify="left")
    table.add_column("bench", no_wrap=True)
    table.add_column("comparison", overflow="fold")
    table.add_column("size", no_wrap=True)
    for col in ("median", "q25–q75", "min–max"):
        table.add_column(col, justify="right", no_wrap=True)
    for r in results:
        for i, row in enumerate(table_rows(r)):
            table.add_row(r.lab.removeprefix("bench-") if i == 0 else "", *row)
        table.add_section()
    return table
