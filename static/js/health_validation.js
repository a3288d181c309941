// Validation page charts (vendored Chart.js): churn and contraction rate by band, one bar chart per model version.
(function () {
  const { draw, readJson, percentAxis, percentTooltip, onRender } = window.CsCharts;
  const COLOURS = ["#f0a3a3", "#d43d3d", "#c98a0b"];
  function render() {
    (readJson("validation-chart-data") || []).forEach((chart) => {
      draw(chart.id, {
        type: "bar",
        data: {
          labels: chart.labels,
          datasets: chart.series.map((s, i) => ({ label: s.label, data: s.data, backgroundColor: COLOURS[i % COLOURS.length], borderRadius: 3 })),
        },
        options: {
          maintainAspectRatio: false,
          scales: { y: { beginAtZero: true, ...percentAxis } },
          plugins: { tooltip: { callbacks: { label: percentTooltip } } },
        },
      });
    });
  }
  onRender(render);
})();
