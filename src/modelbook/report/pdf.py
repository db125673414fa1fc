"""`modelbook report --pdf`: the whole handbook as one printable PDF per language, with WeasyPrint.

    <out>/modelbook-en.pdf, <out>/modelbook-zh.pdf    a cover, a table of contents with page numbers, then every
                                                      written entry (the same HTML as the site, formulas as Unicode:
                                                      WeasyPrint lays out no MathML), its latest lab results and plots

WeasyPrint needs Pango (libpango-1.0-0, libpangoft2-1.0-0, libharfbuzz-subset0) and, for the Chinese PDF, a CJK
font (fonts-wqy-microhei); scripts/install.sh installs them. The fonts are embedded (subset) in the PDF.
"""
from __future__ import annotations

import shutil
import subprocess
import time
from datetime import date
from pathlib import Path

from modelbook.core.errors import ModelbookError

PIP = "weasyprint==70.0"
APT = "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-wqy-microhei"
INSTALL = f"scripts/install.sh (or: pip install {PIP}; sudo apt-get install -y {APT})"


def check_engine() -> None:
    """Raise a one-line ModelbookError naming the install command if WeasyPrint, Pango or a CJK font is missing."""
    try:
        import weasyprint  # noqa: F401
    except ImportError:
        raise ModelbookError(f"`modelbook report --pdf` needs WeasyPrint, which is not installed: run {INSTALL}") from None
    except OSError as e:  # WeasyPrint imports, but Pango's shared libraries are missing
        raise ModelbookError(f"`modelbook report --pdf` needs Pango ({str(e).splitlines()[0]}): run {INSTALL}") from None
    if shutil.which("fc-list"):
        found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=30).stdout
        if not found.strip():
            raise ModelbookError(f"`modelbook report --pdf` needs a Chinese font for the zh PDF (none found): run {INSTALL}")


def write_pdfs(site: Path, env, topics, pages, labs, lookup, only=None, langs=("en", "zh")) -> list[tuple[Path, float, int]]:
    """Render one PDF per language into `site` (plots are read from site/plots). Returns (path, seconds, pages)."""
    import weasyprint

    from modelbook.handbook.loader import PART_SPAN, PARTS, SECTIONS, fill_values
    from modelbook.report.build import markdown_to_html

    chosen = [t for t in topics if only is None or t.id in only]
    out = []
    for lang in langs:
        started = time.monotonic()
        entries = []
        for t in chosen:
            sections = []
            for key, _, _ in SECTIONS:
                text = fill_values(t.sections.get(lang, {}).get(key, ""), lookup)
                if text.strip():
                    sections.append((t.heading(key, lang), markdown_to_html(text, math="unicode")))
            entries.append({"topic": t, "sections": sections, "labs": [labs[n] for n in t.labs if n in labs]})
        toc = [{"key": key, "title": PARTS[key][lang], "span": PART_SPAN[key],
                "pages": [p for p in pages if p["part"] == key and (only is None or (p["alias_of"] or p["id"]) in only)]}
               for key in PARTS]
        html = env.get_template("print.html").render(lang=lang, entries=entries, toc=toc,
                                                     today=date.today().isoformat(), n_written=len(chosen))
        document = weasyprint.HTML(string=html, base_url=str(site)).render()
        path = site / f"modelbook-{lang}.pdf"
        document.write_pdf(path)
        out.append((path, time.monotonic() - started, len(document.pages)))
    return out
