// Validation page charts (vendored Chart.js): churn and contraction rate by band, one bar chart per model version.
(function () {
  const COLOURS = ["#f0a3a3", "#d43d3d", "#c98a0b"];
  function render() {
    const node = document.getElementById("validation-chart-data");
    if (!node || !window.Chart) return;
    JSON.parse(node.textContent).forEach((chart) => {
      const canvas = document.getElementById(chart.id);
      if (!canvas || canvas.dataset.drawn) return;
      canvas.dataset.drawn = "1";
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: chart.labels,
          datasets: chart.series.map((s, i) => ({ label: s.label, data: s.data, backgroundColor: COLOURS[i % COLOURS.length], borderRadius: 3 })),
        },
        options: {
          maintainAspectRatio: false,
          scales: { y: { beginAtZero: true, ticks: { callback: (v) => v + "%" } } },
          plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${c.parsed.y == null ? "—" : c.parsed.y.toFixed(1) + "%"}` } } },
        },
      });
    });
  }
  document.addEventListener("DOMContentLoaded", render);
  document.addEventListener("htmx:afterSettle", render);
})();
