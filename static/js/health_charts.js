// Health charts (vendored Chart.js): the account page's 90-day score with its band zones, and the overview's
// distribution by band. Data comes from json_script nodes; the account panel is re-rendered by htmx after a
// pulse is recorded, so charts are (re)drawn on load and after every swap.
(function () {
  const { draw, readJson, money, onRender } = window.CsCharts;
  const BAND_COLOURS = { healthy: "#1f9d57", stable: "#c98a0b", at_risk: "#d43d3d", unknown: "#b5bac6" };
  const ZONE_COLOURS = { healthy: "rgba(31,157,87,0.08)", stable: "rgba(201,138,11,0.08)", at_risk: "rgba(212,61,61,0.08)" };




  // Shaded horizontal zones behind the line: At risk [0, at_risk_below), Stable, Healthy [healthy_min, 100].
  const bandZones = {
    id: "bandZones",
    beforeDatasetsDraw(chart, args, opts) {
      const { ctx, chartArea, scales } = chart;
      if (!chartArea || !opts || opts.healthyMin == null) return;
      const zones = [
        [0, opts.atRiskBelow, ZONE_COLOURS.at_risk],
        [opts.atRiskBelow, opts.healthyMin, ZONE_COLOURS.stable],
        [opts.healthyMin, 100, ZONE_COLOURS.healthy],
      ];
      ctx.save();
      zones.forEach(([lo, hi, colour]) => {
        const top = scales.y.getPixelForValue(hi), bottom = scales.y.getPixelForValue(lo);
        ctx.fillStyle = colour;
        ctx.fillRect(chartArea.left, top, chartArea.right - chartArea.left, bottom - top);
      });
      ctx.strokeStyle = "rgba(107,115,133,0.45)";
      ctx.setLineDash([4, 4]);
      [opts.atRiskBelow, opts.healthyMin].forEach((v) => {
        const y = scales.y.getPixelForValue(v);
        ctx.beginPath(); ctx.moveTo(chartArea.left, y); ctx.lineTo(chartArea.right, y); ctx.stroke();
      });
      ctx.restore();
    },
  };

  function bandOf(score, data) {
    if (score == null) return "unknown";
    return score >= data.healthy_min ? "healthy" : score < data.at_risk_below ? "at_risk" : "stable";
  }

  function drawAccountTrend() {
    const data = readJson("account-health-data");
    if (!data) return;
    const shortDate = (iso) => new Date(iso + "T00:00:00").toLocaleDateString(undefined, { month: "short", day: "numeric" });
    draw("account-health-chart", {
      type: "line",
      data: {
        labels: data.labels.map(shortDate),
        datasets: [{
          label: "Health score", data: data.scores, borderColor: "#2f6fed", backgroundColor: "#2f6fed",
          borderWidth: 2, tension: 0.2, spanGaps: true, pointRadius: 0, pointHoverRadius: 4,
          segment: { borderDash: (c) => (c.p0.skip || c.p1.skip ? [3, 3] : undefined) },
        }],
      },
      options: {
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          y: { min: 0, max: 100, ticks: { stepSize: 20 } },
          x: { ticks: { maxRotation: 0, autoSkipPadding: 12 }, grid: { display: false } },
        },
        plugins: {
          legend: { display: false },
          bandZones: { healthyMin: data.healthy_min, atRiskBelow: data.at_risk_below },
          tooltip: { callbacks: { label: (c) => (c.parsed.y == null ? "no score" : `${c.parsed.y.toFixed(1)} (${bandOf(c.parsed.y, data).replace("_", " ")})`) } },
        },
      },
      plugins: [bandZones],
    });
  }

  function drawOverview() {
    const data = readJson("health-overview-data");
    if (!data) return;
    const colours = data.bands.map((b) => BAND_COLOURS[b] || BAND_COLOURS.unknown);
    const doughnut = (id, values, format) => draw(id, {
      type: "doughnut",
      data: { labels: data.labels, datasets: [{ data: values, backgroundColor: colours, borderWidth: 1 }] },
      options: {
        maintainAspectRatio: false, cutout: "60%",
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: { callbacks: { label: (c) => {
            const total = values.reduce((a, b) => a + b, 0);
            const share = total ? ` (${((100 * c.parsed) / total).toFixed(1)}%)` : "";
            return `${c.label}: ${format(c.parsed)}${share}`;
          } } },
        },
      },
    });
    doughnut("band-count-chart", data.accounts, (v) => v.toLocaleString() + " accounts");
    doughnut("band-arr-chart", data.arr, (v) => money(v, data.currency));
  }

  function render() {
    if (!window.Chart) return;
    drawAccountTrend();
    drawOverview();
  }

  onRender(render);
})();
