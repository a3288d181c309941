// Charts of the revenue retention page (vendored Chart.js). Data comes from the json_script in the page body,
// which htmx swaps when filters change: charts are (re)drawn on load and after every swap.
(function () {
  const { draw, money, percentAxis, percentTooltip, onRender } = window.CsCharts;

  function render() {
    const node = document.getElementById("retention-chart-data");
    if (!node || !window.Chart) return;
    const data = JSON.parse(node.textContent);
    const cur = data.currency;
    draw("trend-chart", {
      type: "line",
      data: {
        labels: data.trend.labels,
        datasets: [
          { label: "NRR", data: data.trend.nrr, borderColor: "#2f6fed", backgroundColor: "#2f6fed", tension: 0.25, spanGaps: true },
          { label: "GRR", data: data.trend.grr, borderColor: "#1f9d57", backgroundColor: "#1f9d57", tension: 0.25, spanGaps: true },
        ],
      },
      options: {
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          y: percentAxis,
          x: { ticks: { maxRotation: 0, autoSkipPadding: 8 } },
        },
        plugins: { tooltip: { callbacks: { label: percentTooltip } } },
      },
    });
    // Floating bars: totals from 0, movements from the running total.
    let running = 0;
    const bars = data.waterfall.map((step) => {
      if (step.kind === "total") { running = step.value; return [0, step.value]; }
      const from = running; running += step.value; return [from, running];
    });
    const colours = data.waterfall.map((s) => (s.kind === "total" ? "#6b7385" : s.kind === "up" ? "#1f9d57" : "#d43d3d"));
    draw("waterfall-chart", {
      type: "bar",
      data: { labels: data.waterfall.map((s) => s.label), datasets: [{ label: "ARR", data: bars, backgroundColor: colours, borderRadius: 3 }] },
      options: {
        maintainAspectRatio: false,
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: (c) => money(data.waterfall[c.dataIndex].value, cur) } },
        },
        // The axis starts at zero: a truncated axis would make the start and end bars lie about their ratio.
        scales: { y: { beginAtZero: true, ticks: { callback: (v) => money(v, cur) } } },
      },
    });
  }

  onRender(render);
  // A drill-down opened from a number scrolls into view.
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target && event.detail.target.id === "drill-panel" && event.detail.target.innerHTML.trim()) {
      event.detail.target.scrollIntoView({ behavior: "smooth", block: "start" });
    }
  });
})();
