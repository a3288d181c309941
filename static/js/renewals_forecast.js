// Charts of the renewal forecast board (vendored Chart.js), drawn from the page's json_script data.
(function () {
  const { money } = window.CsCharts;

  function bars(id, labels, datasets, currency) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    new window.Chart(canvas, {
      type: "bar",
      data: { labels, datasets },
      options: {
        indexAxis: "y",
        maintainAspectRatio: false,
        plugins: {
          legend: { display: datasets.length > 1, position: "bottom" },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${money(c.parsed.x, currency)}` } },
        },
        scales: { x: { ticks: { callback: (v) => money(v, currency) } } },
      },
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const node = document.getElementById("forecast-chart-data");
    if (!node || !window.Chart) return;
    const data = JSON.parse(node.textContent);
    bars("category-chart", data.category.labels, [
      { label: "Target", data: data.category.target, backgroundColor: "#cfd4dd", borderRadius: 3 },
      { label: "Expected", data: data.category.expected, backgroundColor: "#2f6fed", borderRadius: 3 },
    ], data.currency);
    bars("risk-chart", data.risk.labels, [
      { label: "Target", data: data.risk.target, backgroundColor: "#c98a0b", borderRadius: 3 },
    ], data.currency);
  });
})();
