// What every chart script of the product shares (vendored Chart.js): one chart per canvas id, redrawn only when
// htmx has put a new canvas in its place; the chart data read from a page's json_script node; money in the
// organization's currency, compact; percentages on axes and in tooltips. Loaded (deferred) before the page's
// own chart script.
window.CsCharts = (function () {
  const charts = {};

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas || !window.Chart) return;
    if (charts[id] && charts[id].canvas === canvas) return; // already drawn on this canvas
    if (charts[id]) charts[id].destroy();
    charts[id] = new window.Chart(canvas, config);
  }

  function readJson(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function money(value, currency) {
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency, notation: "compact", maximumFractionDigits: 1 }).format(value);
    } catch (e) {
      return Math.round(value).toLocaleString();
    }
  }

  const percentAxis = { ticks: { callback: (v) => v + "%" } };
  const percentTooltip = (c) => `${c.dataset.label}: ${c.parsed.y == null ? "—" : c.parsed.y.toFixed(1) + "%"}`;

  // Run `render` once the page is loaded and again after every htmx swap (filters, drill-downs, pulses).
  function onRender(render) {
    document.addEventListener("DOMContentLoaded", render);
    document.addEventListener("htmx:afterSettle", render);
  }

  return { draw, readJson, money, percentAxis, percentTooltip, onRender };
})();
