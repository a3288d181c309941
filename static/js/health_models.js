// Health model pages: the draft editor's live weight total and row removal, and the preview's band chart.
(function () {
  function recomputeTotal() {
    const box = document.getElementById("weight-total");
    if (!box) return;
    let total = 0;
    let readable = true;
    document.querySelectorAll("#component-rows .weight-input").forEach((input) => {
      const value = parseFloat(input.value);
      if (input.value.trim() === "" || Number.isNaN(value)) readable = false;
      else total += value;
    });
    const rounded = Math.round(total * 100) / 100;
    const ok = readable && Math.abs(total - 100) < 1e-6;
    box.classList.toggle("good", ok);
    box.classList.toggle("bad", !ok);
    box.innerHTML = "Weights total: <strong>" + (readable ? rounded : "?") + " %</strong>" +
      (ok ? "" : ' <span class="muted small">must be exactly 100 %</span>');
  }

  document.addEventListener("input", (event) => {
    if (event.target.classList && event.target.classList.contains("weight-input")) recomputeTotal();
  });
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-remove-row]");
    if (!button) return;
    const row = button.closest(".comp-row");
    if (row) row.remove();
    recomputeTotal();
  });
  document.addEventListener("htmx:afterSettle", recomputeTotal);

  function drawChart() {
    const node = document.getElementById("model-preview-chart");
    const canvas = document.getElementById("band-chart");
    if (!node || !canvas || !window.Chart || canvas.dataset.drawn) return;
    const data = JSON.parse(node.textContent);
    canvas.dataset.drawn = "1";
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: "Now", data: data.before, backgroundColor: "#b8c2d6" },
          { label: "With the draft", data: data.after, backgroundColor: "#2f6fed" },
        ],
      },
      options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  }

  document.addEventListener("DOMContentLoaded", () => { recomputeTotal(); drawChart(); });
})();
