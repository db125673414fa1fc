"""`modelbook report`: the static site, and the site in a real headless Chromium (Debian's, via Playwright):
its pages and links, the language switch, search from disk (a Chinese and an English query, a result followed),
formulas as MathML; `modelbook report --pdf` (WeasyPrint) with its page count and embedded CJK font."""
import json
import os
import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from modelbook.core.errors import ModelbookError
from modelbook.report.build import MARKER, SEARCH_INDEX, build_site, markdown_to_html
from tests.conftest import run_cli_captured

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-default-apps", "--disable-sync", "--metrics-recording-only"]


@pytest.fixture(scope="module")
def site(quick_result, tmp_path_factory):
    """The report built from the test home's store, holding at least one real run (metrics, with plots)."""
    quick_result("metrics")
    out = tmp_path_factory.mktemp("report") / "site"
    index = build_site(out)
    return index.parent


def test_site_has_an_index_a_page_per_topic_and_the_plots(site):
    from modelbook.handbook.loader import all_topics

    written = [t.id for t in all_topics()]  # 1-40, and 41-48 as they are written
    pages = sorted(p.name for p in site.glob("topic-*.html"))
    assert len(pages) == len(written) - 1 and "topic-23.html" not in pages  # 23 is 2
    index = (site / "index.html").read_text(encoding="utf-8")
    assert index.count('class="topic-link"') == len(written) and 'href="topic-02.html"' in index
    # two parts: 1-40 from the source, 41-48 beyond it (planned ones listed without a link)
    assert index.index('id="part-source"') < index.index('id="row-40"') < index.index('id="part-beyond"') < index.index('id="row-48"')
    assert all(f'id="row-{n}"' in index for n in range(1, 49))
    t4 = (site / "topic-04.html").read_text(encoding="utf-8")
    assert "Latest lab results" in t4 and "✓ pass" in t4 and "scikit-learn" in t4
    assert "{{" not in t4 and "not measured yet" not in t4  # quoted values filled from the metrics run
    assert re.search(r"quick:\s*✓ \d+/\d+ · ", t4)  # the latest quick run's badge ...
    assert re.search(r"full:\s*<span class=\"lang-en\">not run</span>.*modelbook run metrics -p full", t4)  # ... beside the full one
    plots = list((site / "plots" / "metrics").glob("*.png"))
    assert plots and all(f'src="plots/metrics/{p.name}"' in t4 for p in plots)
    assert (site / MARKER).is_file() and (site / "static" / "switch.js").is_file()
    assert SEARCH_INDEX in (site / MARKER).read_text() and 'id="zh-answer"' in t4 and 'id="en-answer"' in t4


def test_the_search_index_holds_every_section_in_both_languages(site):
    from modelbook.handbook.loader import all_topics

    text = (site / SEARCH_INDEX).read_text(encoding="utf-8")
    assert text.count("\n") == 2 and "</script" not in text.lower()
    entries = json.loads(text.split("window.MODELBOOK_SEARCH = ", 1)[1].rstrip().rstrip(";"))
    real = [t for t in all_topics() if not t.alias_of]
    assert {(e["id"], e["lang"]) for e in entries} == {(t.id, lang) for t in real for lang in ("en", "zh")}
    t33 = {e["key"]: e for e in entries if e["id"] == 33 and e["lang"] == "zh"}
    assert "分组查询注意力（GQA）让" in t33["answer"]["text"]       # plain text: no tags, no asterisks
    assert t33["answer"]["file"] == "topic-33.html" and t33["answer"]["heading"] == "两分钟回答"
    assert "{{" not in text


def test_emphasis_beside_chinese_punctuation_and_formulas():
    html = markdown_to_html("即 **KV cache**；**分组查询注意力（GQA）**让多个查询头共享 and **bold** a*b*c")
    assert "**" not in html and "<strong>分组查询注意力（GQA）</strong>让" in html and "a<em>b</em>c" in html
    math = markdown_to_html(r"scale by $\frac{1}{\sqrt{d_k}}$, costs $5 to $10, \$x$ and $$\sum_i x_i^2$$")
    assert math.count("<math") == 2 and "<mfrac>" in math and 'display="block"' in math
    assert "costs $5 to $10" in math and "$x$" in math  # dollars that are not formulas stay text
    pdf_math = markdown_to_html(r"$\sqrt{\bar\alpha_t}\,x_0$", math="unicode")
    assert '<span class="math">√ᾱₜ x₀</span>' in pdf_math and "<math" not in pdf_math


def test_markdown_is_escaped_and_a_foreign_folder_is_never_replaced(tmp_path, site):
    html = markdown_to_html("a <script>alert(1)</script> and `<b>` and **bold**")
    assert "<script>" not in html and "&lt;script&gt;" in html and "<strong>bold</strong>" in html
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ModelbookError, match="not a modelbook report"):
        build_site(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    again = build_site(site)  # a previous report is replaced
    assert again == site / "index.html" and not list(site.parent.glob(".tmp-*")) and not list(site.parent.glob(".old-*"))


def test_site_in_a_headless_browser(site, home):
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: scripts/install.sh --test installs it"
    from playwright.sync_api import sync_playwright

    artifacts = Path(os.environ.get("MODELBOOK_TEST_ARTIFACTS", home / "test-artifacts")) / "report"
    artifacts.mkdir(parents=True, exist_ok=True)
    pages = [site / "index.html"] + sorted(site.glob("topic-*.html"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1500})
        problems: list[str] = []
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}"))

        # every page loads without errors, and every link and image points at a file that exists
        for path in pages:
            page.goto(path.as_uri())
            assert page.title(), path.name
            for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
                url = urlparse(href)
                assert url.scheme == "file" and Path(unquote(url.path)).is_file(), (path.name, href)
            broken = page.eval_on_selector_all("img", "els => els.filter(e => !(e.complete && e.naturalWidth > 0)).map(e => e.src)")
            assert not broken, (path.name, broken)
        assert not problems, problems

        def follow(selector: str, expected: str) -> None:
            with page.expect_navigation(wait_until="load"):  # let the page finish loading before the next click
                page.click(selector)
            assert page.url.endswith(expected), (selector, page.url)

        # following links: index -> topic 33 -> next -> back to the index
        page.goto((site / "index.html").as_uri())
        follow("#row-33 a.topic-link", "topic-33.html")
        assert page.is_visible("#entry-en h1")
        follow("#nav-next", "topic-34.html")
        follow("#nav-index", "index.html")
        follow("#row-23 a.topic-link", "topic-02.html")  # 23 is the same question as 2

        # the language switch, and the choice carried to the next page
        page.goto((site / "topic-04.html").as_uri())
        assert page.is_visible("#entry-en") and page.is_hidden("#entry-zh")
        page.screenshot(path=str(artifacts / "topic-04-en.png"))
        page.click("#lang-zh")
        assert page.is_visible("#entry-zh") and page.is_hidden("#entry-en")
        assert page.get_attribute("#lang-zh", "aria-pressed") == "true"
        assert "怎样评估模型的效果" in page.inner_text("#entry-zh h1")
        page.screenshot(path=str(artifacts / "topic-04-zh.png"), full_page=True)
        follow("#nav-index", "index.html")
        assert page.is_visible("#row-4 .lang-zh") and page.is_hidden("#row-4 .lang-en")
        page.click("#lang-en")
        assert page.is_visible("#row-4 .lang-en")
        page.screenshot(path=str(artifacts / "index.png"))
        page.goto((site / "topic-33.html").as_uri() + "#zh")  # an address can ask for a language
        assert page.is_visible("#entry-zh")

        # search from disk: a Chinese query on the index page, a result followed to its section in Chinese
        page.goto((site / "index.html").as_uri())
        page.fill("#search-box", "分组查询注意力")
        page.wait_for_selector("#search-results a.search-hit")
        first = page.get_attribute("#search-results a.search-hit", "href")
        assert first.startswith("topic-33.html#zh-"), first
        assert "分组查询注意力" in page.inner_text("#search-results mark")
        page.screenshot(path=str(artifacts / "search-zh.png"))
        follow("#search-results a.search-hit", first)
        assert page.is_visible("#entry-zh") and page.is_visible("#" + first.split("#")[1])
        # an English query from a topic page, the language switched back to English; Enter opens the first hit
        page.click("#lang-en")
        page.fill("#search-box", "grouped-query attention")
        page.wait_for_selector("#search-results a.search-hit")
        hits = page.eval_on_selector_all("#search-results a.search-hit", "els => els.map(e => e.getAttribute('href'))")
        assert hits[0].startswith("topic-33.html#en-") and all("#zh-" not in h for h in hits[:3]), hits
        with page.expect_navigation(wait_until="load"):
            page.press("#search-box", "Enter")
        assert page.url.endswith(hits[0]) and page.is_visible("#entry-en")
        page.fill("#search-box", "qwxzqwxz")
        page.wait_for_selector("#search-results p.muted")
        assert "No matches" in page.inner_text("#search-results")

        # a formula is laid out as math: MathML's fraction stacks numerator over denominator
        formula = site.parent / "formula.html"
        formula.write_text('<!doctype html><meta charset="utf-8"><p id="f">'
                           + markdown_to_html(r"$\frac{QK^\top}{\sqrt{d_k}}$") + "</p>", encoding="utf-8")
        page.goto(formula.as_uri())
        num, den = (page.eval_on_selector(f"mfrac > :nth-child({i})", "e => e.getBoundingClientRect().top") for i in (1, 2))
        assert den > num + 5, (num, den)
        assert not problems, problems
        browser.close()
    shots = sorted(artifacts.glob("*.png"))
    assert len(shots) == 4 and all(s.stat().st_size > 10_000 for s in shots)
    print(f"\nreport screenshots: {artifacts}")


@pytest.fixture(scope="module")
def pdfs(site, tmp_path_factory):
    """The PDFs, rendered once: two topics (4 with the metrics lab's plots, 33), to keep the test short; the
    command renders all of them (215 + 165 pages in about a minute on two cores)."""
    out = tmp_path_factory.mktemp("pdf") / "site"
    said: list[str] = []
    build_site(out, say=said.append, pdf=True, pdf_topics={4, 33})
    return out, said


def test_pdf_per_language_with_its_pages_plots_and_embedded_cjk_font(pdfs):
    from pypdf import PdfReader

    out, said = pdfs
    for lang in ("en", "zh"):
        reader = PdfReader(out / f"modelbook-{lang}.pdf")
        n = len(reader.pages)
        assert f"wrote modelbook-{lang}.pdf: {n} pages" in " ".join(said)
        assert 8 <= n <= 60, n  # a cover, the contents, two entries of several pages each
        text = "".join(p.extract_text() for p in reader.pages)
        assert ("怎样评估模型的效果" in text) == (lang == "zh") and ("分组查询注意力（GQA）让" in text) == (lang == "zh")
        assert "**" not in text and "{{" not in text
        fonts, images = {}, set()
        for page in reader.pages:
            res = page["/Resources"]
            for font in res.get("/Font", {}).values():
                font = font.get_object()
                fonts[str(font["/BaseFont"])] = font
            images |= {x.idnum for x in res.get("/XObject", {}).values() if x.get_object()["/Subtype"] == "/Image"}
        plots = list((out / "plots" / "metrics").glob("*.png"))
        assert plots and len(images) >= len(plots)  # every plot of topic 4's lab is in the PDF
        cjk = [name for name in fonts if "WenQuanYi" in name]
        if lang == "zh":  # the CJK glyphs are embedded (a subset font with its font file), not referenced
            assert cjk, fonts.keys()
            descriptor = fonts[cjk[0]]["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            assert any(k in descriptor for k in ("/FontFile2", "/FontFile3")) and "+" in cjk[0]
        # the contents page lists every topic of the chosen ones with its page number
        toc = reader.pages[1].extract_text()
        assert re.search(r"4\..*\d+\s*$", toc, re.M) and re.search(r"33\..*\d+", toc)


def test_pdf_without_its_engine_is_one_line_with_the_install_command(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint now raises ImportError
    code, out, err = run_cli_captured(monkeypatch, capsys, "report", "--pdf", "-o", str(tmp_path / "site"))
    assert code == 2 and out == "" and err.count("\n") == 1, (code, out, err)
    assert "WeasyPrint" in err and "scripts/install.sh" in err and "weasyprint==70.0" in err
    assert not (tmp_path / "site").exists()  # checked before anything is built
