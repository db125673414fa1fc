// Search over every entry, both languages, with no server: search-index.js (built by `modelbook report`) is
// loaded by a <script> tag the first time the box is used, which works from file:// where fetch() does not.
// Every word of the query must occur in a section (Chinese has no spaces, so a Chinese word is matched as a
// substring, as is an English one; case is ignored). Sections in the page's language come first; a hit in a
// title or heading counts more than one in the text. Results are links to the section (topic-33.html#zh-answer).
(function () {
  "use strict";
  var MAX = 12;
  var box, panel, entries = null, waiting = null, timer = null;

  function lang() { return document.documentElement.getAttribute("data-lang") === "zh" ? "zh" : "en"; }

  function load(then) {  // every caller is answered once the index is in, however many ask while it loads
    if (entries) { then(); return; }
    if (window.MODELBOOK_SEARCH) { prepare(); then(); return; }
    if (waiting) { waiting.push(then); return; }
    waiting = [then];
    var script = document.createElement("script");
    script.src = "search-index.js";
    script.onload = function () { var calls = waiting; waiting = null; prepare(); calls.forEach(function (f) { f(); }); };
    script.onerror = function () { waiting = null; show([], "index"); };
    document.head.appendChild(script);
  }

  function prepare() {
    entries = (window.MODELBOOK_SEARCH || []).map(function (e) {
      return { e: e, title: e.title.toLowerCase(), heading: e.heading.toLowerCase(), text: e.text.toLowerCase() };
    });
  }

  function count(haystack, needle) {
    var n = 0, at = haystack.indexOf(needle);
    while (at >= 0 && n < 20) { n++; at = haystack.indexOf(needle, at + needle.length); }
    return n;
  }

  function search(query) {
    var terms = query.toLowerCase().split(/\s+/).filter(function (t) { return t.length > 0; });
    if (!terms.length) { return []; }
    var here = lang(), hits = [];
    entries.forEach(function (x) {
      var score = 0;
      for (var i = 0; i < terms.length; i++) {
        var t = terms[i];
        var inText = count(x.text, t), inTitle = x.title.indexOf(t) >= 0, inHeading = x.heading.indexOf(t) >= 0;
        if (!inText && !inTitle && !inHeading) { return; }
        score += Math.min(inText, 8) + (inTitle ? 10 : 0) + (inHeading ? 4 : 0);
      }
      if (x.e.key === "question" || x.e.key === "answer") { score += 2; }
      hits.push({ x: x, score: score, here: x.e.lang === here ? 1 : 0 });
    });
    hits.sort(function (a, b) { return (b.here - a.here) || (b.score - a.score) || (a.x.e.id - b.x.e.id); });
    return hits.slice(0, MAX).map(function (h) { return { x: h.x, terms: terms }; });
  }

  // a stretch of text around the first hit, with every hit marked (built as DOM nodes: nothing is parsed as HTML)
  function snippet(x, terms) {
    var text = x.e.text, lower = x.text, first = -1;
    terms.forEach(function (t) { var at = lower.indexOf(t); if (at >= 0 && (first < 0 || at < first)) { first = at; } });
    var start = Math.max(0, first - 50), end = Math.min(text.length, start + 180);
    var space = text.indexOf(" ", start);  // English: begin at a word, not inside one
    if (start > 0 && space >= 0 && space < first && space - start < 15) { start = space + 1; }
    var span = document.createElement("span");
    span.className = "snippet";
    var pos = start;
    if (start > 0) { span.appendChild(document.createTextNode("… ")); }
    while (pos < end) {
      var next = -1, len = 0;
      terms.forEach(function (t) { var at = lower.indexOf(t, pos); if (at >= 0 && at < end && (next < 0 || at < next)) { next = at; len = t.length; } });
      if (next < 0) { span.appendChild(document.createTextNode(text.slice(pos, end))); break; }
      if (next > pos) { span.appendChild(document.createTextNode(text.slice(pos, next))); }
      var mark = document.createElement("mark");
      mark.textContent = text.slice(next, next + len);
      span.appendChild(mark);
      pos = next + len;
    }
    if (end < text.length) { span.appendChild(document.createTextNode(" …")); }
    return span;
  }

  function show(results, why) {
    panel.textContent = "";
    var zh = lang() === "zh";
    if (!results.length) {
      var none = document.createElement("p");
      none.className = "muted";
      none.textContent = why === "index" ? (zh ? "搜索索引没有找到：请重新运行 modelbook report。" : "The search index is missing: run modelbook report again.")
        : (zh ? "没有找到。" : "No matches.");
      panel.appendChild(none);
    }
    var list = document.createElement("ol");
    results.forEach(function (r) {
      var e = r.x.e;
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.className = "search-hit";
      link.href = e.file + "#" + e.lang + "-" + e.key;
      link.setAttribute("lang", e.lang === "zh" ? "zh-CN" : "en");
      var head = document.createElement("strong");
      head.textContent = e.id + ". " + e.title;
      link.appendChild(head);
      link.appendChild(document.createTextNode(" · " + e.heading + " "));
      var tag = document.createElement("span");
      tag.className = "badge";
      tag.textContent = e.lang === "zh" ? "中文" : "EN";
      link.appendChild(tag);
      item.appendChild(link);
      item.appendChild(snippet(r.x, r.terms));
      list.appendChild(item);
    });
    if (results.length) { panel.appendChild(list); }
    panel.hidden = false;
  }

  function run() {
    var query = box.value.trim();
    if (!query) { panel.hidden = true; panel.textContent = ""; return; }
    load(function () { show(search(query)); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    box = document.getElementById("search-box");
    panel = document.getElementById("search-results");
    if (!box || !panel) { return; }
    box.addEventListener("focus", function () { load(function () {}); });
    box.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 80); });
    box.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { box.value = ""; run(); }
      if (event.key === "Enter") {
        var first = panel.querySelector("a.search-hit");
        if (first) { window.location.href = first.href; }
      }
    });
    document.addEventListener("click", function (event) {  // the language switch re-ranks open results
      if (event.target.closest && event.target.closest("[data-set-lang]") && !panel.hidden) { run(); }
    });
  });
})();
