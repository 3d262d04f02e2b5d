/* Interactive charts, on request: "Explore this chart" fetches the chart's Vega specification (the same
   published figures as the still SVG and the table) and draws it here with the vendored Vega, whose
   expressions run through vega-interpreter so the page's Content Security Policy needs no unsafe-eval.
   Vega (about 500 KB) is loaded only when a chart is first explored. Hovering a mark shows its figures
   as a tooltip; with the chart focused, the left and right arrow keys read each figure aloud (the status
   line beside the button is a live region). Without JavaScript the SVG and the table stay as they are. */
(function () {
  "use strict";
  var here = document.currentScript ? document.currentScript.src : "/static/web/charts.js";
  var loading = null;

  function script(name) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = new URL("vendor/" + name, here).href;
      s.onload = resolve;
      s.onerror = function () { reject(new Error("could not load " + name)); };
      document.head.appendChild(s);
    });
  }

  function loadVega() {
    if (!loading) {
      loading = script("vega.min.js").then(function () { return script("vega-interpreter.js"); });
    }
    return loading;
  }

  function words(tooltip) {
    if (tooltip === null || tooltip === undefined) { return ""; }
    if (typeof tooltip !== "object") { return String(tooltip); }
    return Object.keys(tooltip).map(function (k) { return k + ": " + tooltip[k]; }).join("; ");
  }

  function marks(view) {
    var out = [];
    (function walk(node) {
      if (!node) { return; }
      if (node.items) { node.items.forEach(walk); }
      if (node.mark && node.mark.marktype !== "group" && node.tooltip !== undefined && node.tooltip !== null) {
        out.push(node);
      }
    })(view.scenegraph().root);
    return out;
  }

  function keyboard(view, holder, status) {
    var items = marks(view);
    var at = -1;
    holder.addEventListener("keydown", function (event) {
      if (!items.length || (event.key !== "ArrowRight" && event.key !== "ArrowLeft")) { return; }
      event.preventDefault();
      at = event.key === "ArrowRight" ? Math.min(at + 1, items.length - 1) : Math.max(at - 1, 0);
      status.textContent = "Figure " + (at + 1) + " of " + items.length + ": " + words(items[at].tooltip);
    });
  }

  function explore(button) {
    var figure = button.closest("figure");
    var holder = figure.querySelector(".chart-live");
    var still = figure.querySelector(".chart-scroll");
    var status = figure.querySelector(".chart-status");
    if (holder.dataset.drawn === "yes") {  // switch between the interactive and the still chart
      var showing = !holder.hidden;
      holder.hidden = showing;
      still.hidden = !showing;
      button.textContent = showing ? "Explore this chart" : "Show the still chart";
      return;
    }
    button.disabled = true;
    status.textContent = "Loading the interactive chart\u2026";
    loadVega().then(function () {
      return fetch(button.dataset.spec, { credentials: "same-origin" });
    }).then(function (response) {
      if (!response.ok) { throw new Error("the server answered " + response.status); }
      return response.json();
    }).then(function (spec) {
      var view = new window.vega.View(window.vega.parse(spec, null, { ast: true }), {
        expr: window.vegaExpressionInterpreter, renderer: "svg", container: holder, hover: true
      });
      return view.runAsync();
    }).then(function (view) {
      holder.dataset.drawn = "yes";
      holder.hidden = false;
      still.hidden = true;
      keyboard(view, holder, status);
      status.textContent = "Interactive chart: point at a mark, or focus the chart and use the arrow keys, to read its figures.";
      button.textContent = "Show the still chart";
    }).catch(function () {
      status.textContent = "The interactive chart could not be drawn; the chart and the table show the same figures.";
    }).then(function () { button.disabled = false; });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button.chart-explore") : null;
    if (button) { explore(button); }
  });
})();
