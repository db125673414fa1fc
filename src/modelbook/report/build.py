"""`modelbook report`: the handbook as a static HTML site that opens from the file system (no server).

    <out>/index.html            the topics in two parts, 1-40 from the source and 41-48 beyond it (a topic of
                                41-48 not written yet is listed as planned, without a page), their entry
                                status and the status of their labs
    <out>/topic-33.html         one page per topic: the entry in English and Chinese (a switch picks one),
                                {{lab:metric}} quotes filled from the latest runs, then per lab the latest
                                results (measured vs reference, pass/fail, source), notes and plots
    <out>/bench.html            `modelbook bench`: each benchmark's latest ratios and exponents, and their history
    <out>/plots/<lab>/...       the plots of each lab's latest run, copied from $MODELBOOK_HOME/runs
    <out>/static/               style.css, switch.js (the language switch; the choice is remembered)

Markdown becomes HTML through markdown-it with raw HTML disabled (so `<script>` in a topic file is shown as
text, never run) and every other string goes through jinja2's autoescaping. The site is built in a temp
folder and swapped in, and only a folder that holds a previous report (marked by `.modelbook-report`, which
lists the files that build wrote) is ever replaced. Files a user added inside it are not lost: they are moved
into the new report (under a `.kept` name if the new build writes a file of the same name), and `say` reports
what was kept.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from modelbook.core.errors import ModelbookError
from modelbook.core.format import fmt_number
from modelbook.core.paths import fsync_dir, home

MARKER = ".modelbook-report"
SEARCH_INDEX = "search-index.js"
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


@dataclass
class LabView:
    name: str
    title: str
    run: object | None = None          # core.store.RunRow of the latest run, or None
    quick: object | None = None        # RunRow of the latest quick-preset run, or None
    full: object | None = None         # RunRow of the latest full-preset run, or None
    result: object | None = None       # its LabResult
    plots: list[str] = field(default_factory=list)   # paths relative to the site root

    @property
    def status(self) -> str:
        if self.result is None:
            return "not run"
        return "pass" if self.result.passed else "fail"


def markdown_to_html(text: str, math: str = "mathml") -> str:
    """An entry's Markdown as HTML (report/markdown.py: CJK-friendly emphasis, $LaTeX$ as MathML or Unicode)."""
    from modelbook.report.markdown import to_html

    return to_html(text, math)


def plain_text(html: str) -> str:
    """The text of an HTML fragment, whitespace collapsed (what the search index holds)."""
    import html as html_lib
    import re

    inline = re.sub(r"</?(?:strong|em|code|a|span|del|s)\b[^>]*>", "", html)  # inside a line: no space (中文)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", inline)).split())


IMAGE_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp")
"""Artifacts a topic page shows as images; other artifacts (tables as text, JSON) stay in the run's folder."""


def collect(store, site: Path) -> tuple[list, dict[str, LabView]]:
    """(topics, labs): what the pages show. Copies each lab's latest plots into `site`/plots."""
    from modelbook.core.registry import all_labs
    from modelbook.handbook import all_topics

    latest, quick, full = store.latest(), store.latest("quick"), store.latest("full")
    labs: dict[str, LabView] = {}
    for spec in all_labs():
        view = LabView(spec.name, spec.title, quick=quick.get(spec.name), full=full.get(spec.name))
        row = latest.get(spec.name)
        result = store.result_or_none(row.id) if row is not None else None  # damaged: warned about, shown as not run
        if result is not None:
            view.run, view.result = row, result
            for name in view.result.artifacts:
                src = row.run_dir / name
                if src.is_file() and src.suffix.lower() in IMAGE_SUFFIXES:  # shown as <img>; text artifacts stay in the run
                    dest = site / "plots" / spec.name / f"run{row.id}-{name}"
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, dest)
                    view.plots.append(dest.relative_to(site).as_posix())
        labs[spec.name] = view
    return list(all_topics()), labs


def bench_views(store, history: int = 6) -> list[dict]:
    """Per benchmark (modelbook.bench): its latest stored run (row, result, table rows) and the medians of its last
    `history` runs, by comparison label (bench.html)."""
    from modelbook.bench import BENCHES, PREFIX
    from modelbook.bench.harness import table_rows

    views = []
    for spec in BENCHES:
        runs = []
        for row in store.history(PREFIX + spec.name, limit=history):
            result = store.result_or_none(row.id)  # damaged: warned about, left out
            if result is not None:
                rows = table_rows(result)
                runs.append({"row": row, "result": result, "rows": rows,
                             "medians": {f"{r[0]} @{r[1]}" if r[1] else r[0]: r[2] for r in rows}})
        labels = list(dict.fromkeys(label for run in runs for label in run["medians"]))
        views.append({"name": spec.name, "title": spec.title, "latest": runs[0] if runs else None, "history": runs,
                      "labels": labels})
    return views


def write_search_index(path: Path, entries: list[dict]) -> None:
    """One entry per section of each entry, in both languages, as a script the pages load when a search starts
    (a <script> works from file://, where fetch() of a JSON file does not). static/search.js reads it."""
    import json

    data = json.dumps(entries, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    path.write_text("// built by `modelbook report`: the search index (static/search.js reads it)\n"
                    f"window.MODELBOOK_SEARCH = {data};\n", encoding="utf-8")


def _generated_by_earlier_build(folder: Path) -> set[str] | None:
    """The files the previous build listed in its marker, or None for a marker from before the list existed."""
    lines = (folder / MARKER).read_text(encoding="utf-8", errors="replace").splitlines()
    listed = {ln for ln in lines[1:] if ln and not ln.startswith("#")}
    return listed or None


def _ours(rel: str, listed: set[str] | None) -> bool:
    if rel == MARKER:
        return True
    if listed is not None:
        return rel in listed
    parts = rel.split("/")  # an old marker: the names this module has always written
    return parts[0] in ("static", "plots") or rel == "index.html" or (len(parts) == 1 and rel.startswith("topic-") and rel.endswith(".html"))


def _keep_foreign(old: Path, new: Path) -> list[str]:
    """Move files a user added to the old report into the new one. Returns where each went (relative paths)."""
    listed = _generated_by_earlier_build(old)
    kept = []
    for path in sorted(old.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        rel = path.relative_to(old).as_posix()
        if _ours(rel, listed):
            continue
        dest = new / rel
        while dest.exists() or dest.is_symlink():
            dest = dest.with_name(dest.name + ".kept")
        dest.parent.mkdir(parents=True, exist_ok=True)
        path.rename(dest)
        kept.append(dest.relative_to(new).as_posix())
    return kept


def build_site(out: Path | None = None, store=None, say=None, pdf: bool = False, pdf_topics=None) -> Path:
    """Write the site to `out` (default $MODELBOOK_HOME/report); returns the path of index.html.

    pdf: also write modelbook-en.pdf and modelbook-zh.pdf, the whole handbook, beside index.html (pdf_topics, a
    set of topic ids, limits them to those topics: for tests)."""
    if pdf:
        from modelbook.report.pdf import check_engine

        check_engine()  # before anything is built: a missing engine is one line with the install command
    try:
        return _build_site(out, store, say or (lambda msg: None), pdf, pdf_topics)
    except OSError as e:
        where = e.filename or out
        raise ModelbookError(f"cannot write the report to {out if out is not None else 'the report folder'} "
                             f"({e.strerror or e}: {where}); choose another --out") from None


def _build_site(out: Path | None, store, say, pdf: bool = False, pdf_topics=None) -> Path:
    import jinja2

    from modelbook.core.store import Store
    from modelbook.handbook.loader import BEYOND_BY_ID, LANGS, PART_SPAN, PARTS, SECTIONS, catalogue, fill_values

    out = Path(out) if out is not None else home() / "report"
    if out.exists() and not (out / MARKER).is_file():
        if not out.is_dir() or any(out.iterdir()):
            raise ModelbookError(f"{out} exists and is not a modelbook report: choose another --out (it is never overwritten)")
    store = store or Store()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{out.name}-", dir=out.parent))
    try:
        topics, labs = collect(store, tmp)
        lookup = store.latest_value_lookup()
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                                 undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        env.filters["num"] = fmt_number
        by_id = {t.id: t for t in topics}
        pages = []
        for t in catalogue():  # the written topics, and the planned ones of 41-48 (no page yet)
            target = by_id[t.alias_of] if t.alias_of else t
            planned = BEYOND_BY_ID[t.id] if t.planned else None
            pages.append({
                "id": t.id, "file": None if planned else f"topic-{target.id:02d}.html", "title": t.title,
                "alias_of": t.alias_of, "status": target.status, "part": t.part,
                "labs": [labs[n] for n in target.labs if n in labs],
                "planned_lab": planned.lab if planned else None, "issue": planned.issue if planned else None,
            })
        parts = [{"key": key, "title": PARTS[key], "span": PART_SPAN[key],
                  "pages": [p for p in pages if p["part"] == key]} for key in PARTS]
        (tmp / "static").mkdir()
        for f in STATIC.iterdir():
            shutil.copyfile(f, tmp / "static" / f.name)
        (tmp / "index.html").write_text(env.get_template("index.html").render(parts=parts, n_topics=len(pages),
                                                                                 n_written=len(topics)), encoding="utf-8")
        (tmp / "bench.html").write_text(env.get_template("bench.html").render(benches=bench_views(store)), encoding="utf-8")
        real = [t for t in topics if not t.alias_of]
        search: list[dict] = []
        for i, t in enumerate(real):
            body = {}
            for lang in LANGS:
                body[lang] = []
                for key, _, _ in SECTIONS:
                    text = fill_values(t.sections.get(lang, {}).get(key, ""), lookup)
                    if not text.strip():
                        continue
                    body[lang].append((key, t.heading(key, lang), markdown_to_html(text)))
                    search.append({"id": t.id, "file": f"topic-{t.id:02d}.html", "lang": lang, "key": key,
                                   "title": t.title[lang], "heading": t.heading(key, lang),
                                   "text": plain_text(markdown_to_html(text, math="unicode"))})
            html = env.get_template("topic.html").render(
                topic=t, part=PARTS[t.part], span=PART_SPAN[t.part], body=body, labs=[labs[n] for n in t.labs if n in labs],
                aliases=[p for p in pages if p["alias_of"] == t.id],
                prev=real[i - 1] if i > 0 else None, next=real[i + 1] if i + 1 < len(real) else None,
            )
            (tmp / f"topic-{t.id:02d}.html").write_text(html, encoding="utf-8")
        write_search_index(tmp / SEARCH_INDEX, search)
        if pdf:
            from modelbook.report.pdf import write_pdfs

            for path, seconds, n_pages in write_pdfs(tmp, env, real, pages, labs, lookup, only=pdf_topics):
                say(f"wrote {path.name}: {n_pages} pages in {seconds:.0f} s")
        written = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
        (tmp / MARKER).write_text("# built by `modelbook report`; the next build replaces the files listed below"
                                  " and keeps any others\n" + "\n".join(written) + "\n", encoding="utf-8")
        fsync_dir(tmp)
        if out.exists():
            old = out.with_name(f".old-{out.name}-{tmp.name[-8:]}")
            out.rename(old)
            tmp.rename(out)
            # the user's files move into the new report BEFORE the old one is removed (if a move fails, the old
            # folder and what is left in it stay, under .old-*)
            kept = _keep_foreign(old, out) if (old / MARKER).is_file() else []
            shutil.rmtree(old, ignore_errors=True)
            if kept:
                say(f"kept {len(kept)} file(s) you added to {out}: {', '.join(kept[:10])}" + (" ..." if len(kept) > 10 else ""))
        else:
            tmp.rename(out)
        fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out / "index.html"
