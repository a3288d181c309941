// Close open menus when clicking elsewhere; keep htmx requests CSRF-protected (header set on <body>).
document.addEventListener("click", (event) => {
  document.querySelectorAll("details.menu[open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  });
});
// Surface server errors on htmx requests instead of failing silently.
document.addEventListener("htmx:responseError", (event) => {
  const box = document.getElementById("messages");
  if (!box) return;
  const div = document.createElement("div");
  div.className = "flash flash-error";
  const status = event.detail.xhr.status;
  div.textContent = status === 403 ? "You don't have permission to do that." : `Something went wrong (HTTP ${status}). Nothing was changed.`;
  box.appendChild(div);
});
// Email previews (sandboxed, no scripts): grow each frame to its email's height instead of a fixed 900 px.
function fitEmailFrame(frame) {
  try {
    const body = frame.contentDocument && frame.contentDocument.body;
    if (body) frame.style.height = `${body.scrollHeight + 24}px`;
  } catch (error) { /* a frame we cannot measure keeps its height */ }
}
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("iframe[data-fit-content]").forEach((frame) => {
    frame.addEventListener("load", () => fitEmailFrame(frame));
    fitEmailFrame(frame);
  });
});
