// An album page's drag and drop: drop a tile before another, and the new order is posted to the album's order URL
// (data-album-order on the grid). Without this script, the buttons under each tile move photos one step at a time.
(function () {
  const grid = document.querySelector("[data-album-order]");
  if (!grid || !grid.dataset.albumOrder) return;
  let dragged = null;

  grid.addEventListener("dragstart", (e) => {
    dragged = e.target.closest(".album-item");
    if (!dragged) return;
    dragged.classList.add("dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", dragged.dataset.photo);
  });

  grid.addEventListener("dragover", (e) => {
    const over = e.target.closest(".album-item");
    if (!dragged || !over || over === dragged) return;
    e.preventDefault();
    const box = over.getBoundingClientRect();
    const after = e.clientX > box.left + box.width / 2;
    over.parentNode.insertBefore(dragged, after ? over.nextSibling : over);
  });

  grid.addEventListener("dragend", () => {
    if (!dragged) return;
    dragged.classList.remove("dragging");
    dragged = null;
    save();
  });

  function save() {
    const body = new URLSearchParams();
    grid.querySelectorAll(".album-item").forEach((item) => body.append("photos", item.dataset.photo));
    const headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    fetch(grid.dataset.albumOrder, { method: "POST", body, headers, credentials: "same-origin" })
      // Refused, or redirected (a session that ended: the sign-in page answers 200): the order was not saved, and
      // a reload shows the order that was (or the sign-in page, which comes back here).
      .then((response) => { if (!response.ok || response.redirected) location.reload(); })
      .catch(() => location.reload());
  }
})();
