// The zh/en switch: shows one language, remembers the choice (localStorage, when the browser allows it
// for file:// pages) and honours #en / #zh in the address, and #zh-answer (a section, as search links it).
(function () {
  "use strict";
  var KEY = "modelbook-lang";
  function setLang(lang) {
    var root = document.documentElement;
    root.setAttribute("data-lang", lang);
    root.setAttribute("lang", lang === "zh" ? "zh-CN" : "en");
    var buttons = document.querySelectorAll("[data-set-lang]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].setAttribute("aria-pressed", String(buttons[i].getAttribute("data-set-lang") === lang));
    }
    try { window.localStorage.setItem(KEY, lang); } catch (e) { /* storage disabled: the switch still works */ }
  }
  var saved = null;
  try { saved = window.localStorage.getItem(KEY); } catch (e) { saved = null; }
  var hash = decodeURIComponent(window.location.hash.replace("#", ""));
  var asked = hash.split("-")[0];
  setLang(asked === "en" || asked === "zh" ? asked : (saved === "zh" ? "zh" : "en"));
  if (hash.indexOf("-") > 0) {  // the section was hidden when the browser looked for it: scroll to it now
    var target = document.getElementById(hash);
    if (target && target.scrollIntoView) { target.scrollIntoView(); }
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-set-lang]") : null;
    if (button) { setLang(button.getAttribute("data-set-lang")); }
  });
})();
