// Charts of the executive dashboard (vendored Chart.js, drawn like the retention page's). Data comes from the
// json_script in the page body, which htmx swaps when filters change: charts are (re)drawn on load and after swaps.
(function () {
  const { draw, money, percentAxis: pctAxis, percentTooltip: pctTip, onRender } = window.CsCharts;

  function render() {
    const node = document.getElementById("dashboard-chart-data");
    if (!node || !window.Chart) return;
    const data = JSON.parse(node.textContent);
    const cur = data.currency;
    draw("dash-retention-chart", {
      type: "line",
      data: { labels: data.labels, datasets: [
        { label: "NRR", data: data.nrr, borderColor: "#2f6fed", backgroundColor: "#2f6fed", tension: 0.25, spanGaps: true },
        { label: "GRR", data: data.grr, borderColor: "#1f9d57", backgroundColor: "#1f9d57", tension: 0.25, spanGaps: true },
      ] },
      options: { maintainAspectRatio: false, interaction: { mode: "index", intersect: false },
        scales: { y: pctAxis, x: { ticks: { maxRotation: 0, autoSkipPadding: 8 } } },
        plugins: { tooltip: { callbacks: { label: pctTip } } } },
    });
    draw("dash-health-chart", {
      type: "bar",
      data: { labels: data.labels, datasets: [
        { label: "Healthy", data: data.health.healthy, backgroundColor: "#1f9d57" },
        { label: "Stable", data: data.health.stable, backgroundColor: "#e0a100" },
        { label: "At risk", data: data.health.at_risk, backgroundColor: "#d43d3d" },
      ] },
      options: { maintainAspectRatio: false, interaction: { mode: "index", intersect: false },
        scales: { x: { stacked: true, ticks: { maxRotation: 0, autoSkipPadding: 8 } }, y: { stacked: true, max: 100, ...pctAxis } },
        plugins: { tooltip: { callbacks: { label: pctTip } } } },
    });
    draw("dash-renewals-chart", {
      type: "bar",
      data: { labels: data.renewals.labels, datasets: [
        { label: "Due", data: data.renewals.due, backgroundColor: "#c9d6f5" },
        { label: "Forecast", data: data.renewals.forecast, backgroundColor: "#2f6fed" },
      ] },
      options: { maintainAspectRatio: false, interaction: { mode: "index", intersect: false },
        scales: { y: { beginAtZero: true, ticks: { callback: (v) => money(v, cur) } }, x: { ticks: { maxRotation: 0, autoSkipPadding: 8 } } },
        plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${money(c.parsed.y, cur)}` } } } },
    });
  }

  onRender(render);
})();
