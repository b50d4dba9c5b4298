// An album page's drag and drop: drop a tile before another, and the new order is posted to the album's order URL
// (data-album-order on the grid). Without this script, the buttons under each tile move photos one step at a time.
// Both it and the selection bar (photos taken out or trashed) keep the "Cover" badge where the album's cover is, and
// the position each tile's arrows carry where the tile is.
(function () {
  const grid = document.querySelector("[data-album-order]");
  if (!grid) return;

  // Each tile's arrows carry the position the page shows it at (input[name=at]), which the server checks a step
  // against (a photo moved since is not moved again: an arrow clicked twice, Back and again). The grid's tiles follow
  // each other from the page's first one, so after a drag or photos taken off the grid they are counted again from it.
  const firstAt = grid.querySelector(".album-item input[name=at]");
  const start = firstAt ? Number(firstAt.value) : 1;
  function renumber() {
    grid.querySelectorAll(".album-item").forEach((item, index) => {
      const at = item.querySelector("input[name=at]");
      if (at) at.value = String(start + index);
    });
  }
  // (After every listener of the event: select.js takes the photos off the grid.)
  document.addEventListener("bulk-done", (e) => { if (((e.detail || {}).ok || []).length) setTimeout(renumber); });

  if (!grid.dataset.albumOrder) return;
  let dragged = null;

  // The buttons under each tile post a plain form, and the page comes back at the photo (#photo-N), where the browser
  // focuses its tile: from the keyboard a second Enter opened the photo instead of moving it a step further. A button
  // pressed from the keyboard is remembered for the page that comes back, which focuses it again (the photo's other
  // arrow once it reached the album's end; after "Remove", the same button of the photo now in its place).
  const PRESSED = "album-arrange-pressed";
  grid.addEventListener("submit", (e) => {
    const button = e.submitter;
    const item = e.target.closest(".album-item");
    if (!button || !item || !button.matches(":focus-visible")) return; // a click: the browser's focus is fine
    const index = Array.from(grid.querySelectorAll(".album-item")).indexOf(item);
    sessionStorage.setItem(PRESSED, JSON.stringify({ album: grid.dataset.albumOrder, photo: item.dataset.photo,
                                                     action: button.value, index }));
  });
  const pressed = JSON.parse(sessionStorage.getItem(PRESSED) || "null");
  sessionStorage.removeItem(PRESSED);
  // Once the page has loaded: the browser focuses the #photo-N tile itself after the scripts have run (viewer.js then
  // leaves the focus on the button).
  if (pressed && pressed.album === grid.dataset.albumOrder) {
    if (document.readyState === "complete") focusPressed(pressed);
    else window.addEventListener("load", () => focusPressed(pressed), { once: true });
  }

  function focusPressed({ photo, action, index }) {
    const items = Array.from(grid.querySelectorAll(".album-item"));
    const own = grid.querySelector(`.album-item[data-photo="${photo}"]`);
    const item = own || items[Math.min(index, items.length - 1)];
    if (!item) return;
    const usable = (button) => button && !button.disabled && !button.hidden;
    const same = item.querySelector(`.album-tools button[value="${action}"]`);
    const button = usable(same) ? same : Array.from(item.querySelectorAll(".album-tools button")).find(usable);
    if (button) button.focus({ preventScroll: Boolean(own) }); // the page is already at the photo
  }
  const coverOnGrid = () => {
    const badge = grid.querySelector(".album-cover-badge");
    return badge ? badge.closest(".album-item").dataset.photo : null;
  };
  let cover = coverOnGrid();
  document.addEventListener("htmx:afterSettle", () => { cover = coverOnGrid(); }); // a chosen cover further on

  // The selection bar took photos off the grid (out of the album, into the trash). When the cover was one of them,
  // the album's first photo is its cover now (album_cover_id: a cover taken out is forgotten); whichever photo is
  // first now can't move earlier. Run after every listener of the event, select.js's removal among them.
  document.addEventListener("bulk-done", (e) => {
    if (!((e.detail || {}).ok || []).length) return;
    const was = cover; // as it stood before this action (another listener may redraw the page meanwhile)
    setTimeout(() => {
      const items = Array.from(grid.querySelectorAll(".album-item"));
      const first = items.length ? items[0].dataset.photo : null;
      const gone = was !== null && !grid.querySelector(`.album-item[data-photo="${was}"]`);
      settle({ cover: gone ? first : was }, { first });
    });
  });

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
      .then((response) => {
        if (!response.ok || response.redirected) { location.reload(); return null; }
        return response.json();
      })
      .then((saved) => { if (saved) settle(saved); })
      .catch(() => location.reload());
  }

  // The order saved (`photos`, the whole album's, and its `cover`): the "Cover" badge goes to the cover (the new first
  // photo when none was chosen), "Cover" is offered on the others, and ← / → are off at the album's two ends only.
  // `ends`: the album's first and last photo when they are known otherwise (only the first, after photos left).
  function settle(saved, ends) {
    renumber();
    const ids = (saved.photos || []).map(String);
    const { first, last } = ends || { first: ids[0], last: ids[ids.length - 1] };
    cover = saved.cover == null ? null : String(saved.cover);
    grid.querySelectorAll(".album-item").forEach((item) => {
      const id = item.dataset.photo;
      const up = item.querySelector("button[value=up]");
      const down = item.querySelector("button[value=down]");
      const choose = item.querySelector("button[value=cover]");
      if (up) up.disabled = id === first;
      if (down && last !== undefined) down.disabled = id === last;
      if (choose) choose.hidden = id === cover;
      const badge = item.querySelector(".album-cover-badge");
      if (id === cover && !badge) {
        const tile = item.querySelector(".tile");
        const made = document.createElement("span");
        made.className = "badge album-cover-badge";
        made.textContent = "Cover";
        if (tile) tile.after(made); else item.append(made);
      } else if (id !== cover && badge) {
        badge.remove();
      }
    });
  }
})();
