"""`modelbook report`: the static site, and the site in a real headless Chromium (Debian's, via Playwright)."""
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from modelbook.core.errors import ModelbookError
from modelbook.report.build import MARKER, build_site, markdown_to_html

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
        assert not problems, problems
        browser.close()
    shots = sorted(artifacts.glob("*.png"))
    assert len(shots) == 3 and all(s.stat().st_size > 10_000 for s in shots)
    print(f"\nreport screenshots: {artifacts}")
