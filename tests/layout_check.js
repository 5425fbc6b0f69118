// Injected into every page of the built site by tests/test_docs.py. Once the page and its maths have
// rendered, it shows every content tab and lists what a reader at this window width would miss:
// - the page itself scrolls sideways;
// - a block reaches past the content column, or hides part of itself without being a box that scrolls;
// - a box that scrolls (a formula, a table, a code block) does not show that it scrolls
//   (docs/css/extra.css draws a shadow on the side where content is hidden);
// - a code block wraps its lines (code keeps its columns);
// - a piece of code in a table is broken across lines;
// - an image is shown at less than half its natural width;
// - an SVG image's smallest label is below 10 pixels as shown.
// The list is written into the page as <pre id="layout-report">JSON</pre>, which `chromium --dump-dom` prints.
(function () {
  const BLOCKS = "pre, pre > code, table, .md-typeset__scrollwrap, .md-typeset__table, div.arithmatex, mjx-container[display='true'], .figure-scroll > span, img";
  const SMALLEST_LABEL = 10; // pixels

  function describe(el) {
    const text = (el.textContent || el.getAttribute("src") || "").replace(/\s+/g, " ").trim();
    const cls = typeof el.className === "string" && el.className ? "." + el.className.split(" ")[0] : "";
    return el.tagName.toLowerCase() + cls + ": " + text.slice(0, 70);
  }

  function scrolls(el) {
    const o = getComputedStyle(el).overflowX;
    return o === "auto" || o === "scroll";
  }

  // A shadow that moves with the content (a background attached "local"), or one laid over the box
  // by its parent (::after) where the content is opaque, as a figure is.
  function showsThatItScrolls(el) {
    const s = getComputedStyle(el);
    const over = el.parentElement && getComputedStyle(el.parentElement, "::after").backgroundImage;
    return (s.backgroundAttachment.includes("local") && s.backgroundImage.includes("gradient")) || (over || "").includes("gradient");
  }

  function insideScrollBox(el, column) {
    for (let a = el.parentElement; a && a !== column; a = a.parentElement) {
      if (scrolls(a)) return true;
    }
    return false;
  }

  // The font size of an SVG <text> or <tspan>: its own attribute or style, else its parent's.
  function fontSize(node, root) {
    for (let n = node; n && n.nodeType === 1; n = n.parentNode) {
      const size = parseFloat((n.style && n.style.fontSize) || n.getAttribute("font-size"));
      if (!isNaN(size)) return size;
      if (n === root) break;
    }
    return 16;
  }

  async function svgLabels(img, found) {
    const source = await (await fetch(img.currentSrc || img.src)).text();
    const root = new DOMParser().parseFromString(source, "image/svg+xml").documentElement;
    const box = (root.getAttribute("viewBox") || "").split(/[\s,]+/).map(Number);
    const width = box.length === 4 ? box[2] : parseFloat(root.getAttribute("width"));
    const scale = img.getBoundingClientRect().width / width;
    let smallest = Infinity;
    for (const t of root.querySelectorAll("text, tspan")) {
      if (t.textContent.trim()) smallest = Math.min(smallest, fontSize(t, root) * scale);
    }
    if (smallest < SMALLEST_LABEL) {
      found.push({ what: "SVG labels below " + SMALLEST_LABEL + " px: " + describe(img), smallest: Math.round(smallest * 10) / 10 });
    }
  }

  async function check() {
    const style = document.createElement("style");
    style.textContent = ".tabbed-content > .tabbed-block { display: block !important; }";
    document.head.appendChild(style);
    const column = document.querySelector(".md-content__inner") || document.body;
    const outer = (document.querySelector(".md-content") || column).getBoundingClientRect();
    const found = [];
    const add = (what, el, extra) => found.push(Object.assign({ what: what + ": " + describe(el) }, extra || {}));
    const svgs = [];
    for (const el of column.querySelectorAll(BLOCKS)) {
      const box = el.getBoundingClientRect();
      if (box.width === 0) continue; // not shown at this width
      const hidden = el.scrollWidth - el.clientWidth;
      const past = box.right > outer.right + 1 || box.left < outer.left - 1;
      if (past && !insideScrollBox(el, column)) {
        add("reaches past the column", el, { left: Math.round(box.left), right: Math.round(box.right), column: [Math.round(outer.left), Math.round(outer.right)] });
      } else if (hidden > 1 && !scrolls(el)) {
        add("cuts off its content", el, { scrollWidth: el.scrollWidth, clientWidth: el.clientWidth });
      } else if (hidden > 1 && !showsThatItScrolls(el)) {
        add("scrolls without showing it", el, { scrollWidth: el.scrollWidth, clientWidth: el.clientWidth });
      }
      if (el.tagName === "IMG") {
        if (/\.svg($|\?)/.test(el.currentSrc || el.src)) svgs.push(el);
        else if (el.naturalWidth > 2 * box.width + 1) {
          add("shown below half its natural width", el, { naturalWidth: el.naturalWidth, shown: Math.round(box.width) });
        }
      }
    }
    for (const code of column.querySelectorAll("pre > code")) {
      const ws = getComputedStyle(code).whiteSpace;
      if (code.getBoundingClientRect().width > 0 && ws !== "pre") add("code wraps (white-space: " + ws + ")", code);
    }
    for (const code of column.querySelectorAll("td code, th code")) {
      if (code.getClientRects().length > 1) add("code broken across lines", code);
    }
    await Promise.all(svgs.map((img) => svgLabels(img, found)));
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
    (typeset || Promise.resolve()).then(function () {
      setTimeout(function () {
        check().catch(function (e) {
          const report = document.createElement("pre");
          report.id = "layout-report";
          report.textContent = JSON.stringify([{ what: "the layout check failed: " + e }]);
          document.body.appendChild(report);
        });
      }, 200);
    });
  });
})();
