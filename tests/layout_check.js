// Injected into every page of the built site by tests/test_docs.py. Once the page and its maths
// have rendered, it shows every content tab, then lists each code block, table, display formula
// or image that is wider than its box (content hidden behind a scroll bar) or that reaches past
// the page's content column, and whether the page itself scrolls sideways. The list is written
// into the page as <pre id="layout-report">JSON</pre>, which `chromium --dump-dom` prints.
(function () {
  const SELECTOR = "pre, pre > code, table, .md-typeset__scrollwrap, .md-typeset__table, div.arithmatex, mjx-container[display='true'], img";

  function describe(el) {
    const text = (el.textContent || el.getAttribute("src") || "").replace(/\s+/g, " ").trim();
    return el.tagName.toLowerCase() + (el.className && typeof el.className === "string" ? "." + el.className.split(" ")[0] : "") + ": " + text.slice(0, 70);
  }

  function check() {
    const style = document.createElement("style");
    style.textContent = ".tabbed-content > .tabbed-block { display: block !important; }";
    document.head.appendChild(style);
    const column = document.querySelector(".md-content__inner") || document.body;
    const limit = (document.querySelector(".md-content") || column).getBoundingClientRect().right;
    const found = [];
    for (const el of column.querySelectorAll(SELECTOR)) {
      const box = el.getBoundingClientRect();
      if (box.width === 0) continue;
      const hidden = el.scrollWidth - el.clientWidth;
      if (hidden > 1 || box.right > limit + 1) {
        found.push({ what: describe(el), scrollWidth: el.scrollWidth, clientWidth: el.clientWidth, right: Math.round(box.right), limit: Math.round(limit) });
      }
    }
    const root = document.documentElement;
    if (root.scrollWidth > root.clientWidth + 1) {
      found.push({ what: "the page scrolls sideways", scrollWidth: root.scrollWidth, clientWidth: root.clientWidth });
    }
    const report = document.createElement("pre");
    report.id = "layout-report";
    report.textContent = JSON.stringify(found);
    document.body.appendChild(report);
  }

  window.addEventListener("load", function () {
    const typeset = window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
    (typeset || Promise.resolve()).then(function () { setTimeout(check, 200); });
  });
})();
