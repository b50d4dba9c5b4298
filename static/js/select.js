// Selecting many photos of a grid (timeline, search results, an album) for the selection bar's actions
// (templates/gallery/_select_bar.html). Everything is wired by data attributes, so any page with the bar works:
//  - form[data-select-bar] is the bar; each tile's box is an input[data-select-box] with form="<the bar's id>",
//    inside the tile's [data-select-item]. Boxes added later (infinite scroll) join in by themselves.
//  - [data-select-count] shows how many are ticked; [data-select-clear] unticks all (so does Esc).
//  - Shift-click (or Shift+Space on a box) ticks the range from the box used last to this one, in page order.
//  - Enter on a box, once something is ticked, moves the focus to the bar's first control.
//  - button[data-select-group="K"] ticks (or, when all are ticked, unticks) every box with data-select-in="K"
//    (a day of the timeline: the day's photos loaded so far).
//  - Long-press on a tile (touch) ticks it; once something is ticked, a tap or click on a tile ticks it instead of
//    opening the photo (Ctrl/Cmd-click still opens it).
//  - An input[data-select-with="<a box's value>"] of the bar's form is sent only while that box is ticked.
//  - After an action the server's `bulk-done` event names the photos done: they are unticked, and after "Move to
//    trash" (and "Restore" on the trash page, "Take out of this album", or an action the bar or the list shown names
//    in data-select-removes: "Unfavourite" on the favourites, timeline or search results; "Remove tags" of the tag a
//    timeline or search results are filtered by, data-select-removes-tag) taken off the grid, the
//    page's "N photos" counting them off.
// Without this script the boxes are plain checkboxes of a plain form at the foot of the page.
(function () {
  const root = document.documentElement;
  root.classList.add("select-js");
  const LONG_PRESS_MS = 500;
  let anchor = null; // the box used last: a range starts there
  let shiftSpace = false;

  function bar() { return document.querySelector("form[data-select-bar]"); }

  function boxes() {
    const form = bar();
    return form ? Array.from(document.querySelectorAll(`input[data-select-box][form="${form.id}"]`)) : [];
  }

  function update() {
    const form = bar();
    if (!form) return;
    const all = boxes();
    const ticked = all.filter((box) => box.checked);
    const count = ticked.length;
    all.forEach((box) => {
      const item = box.closest("[data-select-item]");
      if (item) item.classList.toggle("selected", box.checked);
    });
    // What goes with a tile's box (input[data-select-with="<its value>"]: the date the page showed, which a shift of
    // the dates is checked against) is sent with the ticked boxes only: a timeline scrolled through thousands of
    // photos would otherwise send a field for each.
    const tickedIds = new Set(ticked.map((box) => box.value));
    document.querySelectorAll(`input[data-select-with][form="${form.id}"]`).forEach((input) => {
      input.disabled = !tickedIds.has(input.dataset.selectWith);
    });
    root.classList.toggle("selecting", count > 0);
    form.classList.toggle("active", count > 0);
    form.querySelectorAll("[data-select-count]").forEach((el) => { el.textContent = String(count); });
    const max = Number(form.dataset.selectMax || 0);
    const over = max > 0 && count > max;
    const limit = form.querySelector("[data-select-limit]");
    if (limit) limit.hidden = !over;
    form.querySelectorAll("[data-select-action]").forEach((button) => {
      const own = Number(button.dataset.selectMax || 0); // the download's own cap
      button.disabled = count === 0 || over || (own > 0 && count > own);
    });
    if (count > 0) form.classList.remove("reporting");
    const clear = form.querySelector("[data-select-clear]");
    if (clear) {
      clear.hidden = count === 0 && !form.classList.contains("reporting");
      clear.textContent = count === 0 ? "Close" : "Clear";
    }
    document.querySelectorAll("button[data-select-group]").forEach((button) => {
      const members = all.filter((box) => box.dataset.selectIn === button.dataset.selectGroup);
      const allTicked = members.length > 0 && members.every((box) => box.checked);
      button.classList.toggle("all", allTicked);
      button.firstChild.textContent = allTicked ? "Unselect all" : "Select all";
    });
    barRoom();
  }

  // The room the page keeps under its last row for the bar (app.css): the bar's height as it is now, measured again
  // whenever it changes (a report's line, a wrapped row, a turned phone). A fixed guess left an album's last row, its
  // arranging buttons among them, under the taller bar, and nothing at all while the bar reported what was done.
  let measured = null;
  const resized = window.ResizeObserver ? new ResizeObserver(() => barRoom()) : null;
  function barRoom() {
    const form = bar();
    if (!form) return;
    if (resized && measured !== form) { resized.observe(form); measured = form; }
    const up = form.classList.contains("active") || form.classList.contains("reporting");
    root.classList.toggle("select-bar-up", up);
    root.style.setProperty("--select-bar-height", `${up ? form.offsetHeight : 0}px`);
  }

  function tickRange(from, to, checked) {
    const all = boxes();
    const a = all.indexOf(from);
    const b = all.indexOf(to);
    if (a < 0 || b < 0) return;
    all.slice(Math.min(a, b), Math.max(a, b) + 1).forEach((box) => { box.checked = checked; });
  }

  // A box was toggled (its new state is box.checked): with Shift, the whole range from the anchor follows it.
  function used(box, shift) {
    if (shift && anchor && anchor !== box && anchor.isConnected) tickRange(anchor, box, box.checked);
    anchor = box;
    update();
  }

  // A refusal of the plain form drew the field it was about aria-invalid (gallery/_select_bar.html): once the
  // member changes it, or the bar is cleared or used again, that is said no more.
  function forgetInvalid(form, field) {
    const fields = field ? [field] : Array.from(form.querySelectorAll("[aria-invalid]"));
    fields.forEach((el) => { el.removeAttribute("aria-invalid"); el.removeAttribute("aria-describedby"); });
  }
  document.addEventListener("input", (e) => {
    if (e.target.closest && e.target.closest("[data-select-bar]") && e.target.hasAttribute("aria-invalid")) {
      forgetInvalid(e.target.form, e.target);
    }
  });

  function clearAll() {
    boxes().forEach((box) => { box.checked = false; });
    anchor = null;
    const form = bar();
    if (form) {
      forgetInvalid(form);
      form.classList.remove("reporting");
      const status = form.querySelector(".select-status");
      if (status) status.textContent = "";
    }
    update();
  }

  // Clear / Close / Esc. A focus in the bar, which hides now, goes back to the box ticked last (else it would be lost
  // and the next Tab would start again from the top of the page).
  function closeBar() {
    const form = bar();
    const back = anchor;
    const focusInBar = form && form.contains(document.activeElement);
    clearAll();
    if (focusInBar && back && back.isConnected) back.focus();
  }

  // Headings left with no photo under them (all of a day's photos went to the trash) go too. From the end, so a
  // month whose days all went is seen empty after them.
  function dropEmptyHeadings() {
    const headings = Array.from(document.querySelectorAll("[data-select-heading]")).reverse();
    headings.forEach((heading) => {
      const next = heading.nextElementSibling;
      const level = Number(heading.tagName.slice(1));
      const nextLevel = next && /^H[1-6]$/.test(next.tagName) ? Number(next.tagName.slice(1)) : 0;
      if (!next || next.matches(".more") || (nextLevel && nextLevel <= level)) heading.remove();
    });
  }

  document.addEventListener("click", (e) => {
    const box = e.target.closest("input[data-select-box]");
    if (box) { used(box, e.shiftKey || shiftSpace); shiftSpace = false; return; }
    const group = e.target.closest("button[data-select-group]");
    if (group) {
      const members = boxes().filter((b) => b.dataset.selectIn === group.dataset.selectGroup);
      const tick = !members.every((b) => b.checked);
      members.forEach((b) => { b.checked = tick; });
      update();
      return;
    }
    if (e.target.closest("[data-select-clear]")) { closeBar(); return; }
    // While selecting, a click on a tile ticks it (Ctrl/Cmd-click or a middle click still opens the photo).
    const item = e.target.closest("[data-select-item]");
    if (!item || !root.classList.contains("selecting") || e.ctrlKey || e.metaKey || !e.target.closest("a")) return;
    const itemBox = item.querySelector("input[data-select-box]");
    if (!itemBox) return;
    e.preventDefault();
    itemBox.checked = !itemBox.checked;
    used(itemBox, e.shiftKey);
  });

  // Shift+Space on a box: the click the key makes does not carry shiftKey in every browser, so remember it here.
  // Enter on a box (which does nothing on a checkbox) jumps to the bar once something is ticked: the bar comes after
  // the whole grid, a long way by Tab; Esc there comes back to the box.
  document.addEventListener("keydown", (e) => {
    if (e.key === " " && e.target.matches && e.target.matches("input[data-select-box]")) shiftSpace = e.shiftKey;
    if (e.key === "Enter" && e.target.matches && e.target.matches("input[data-select-box]")
        && root.classList.contains("selecting")) {
      const first = bar() && bar().querySelector(".select-actions input:not([type=hidden]), .select-actions select, .select-actions button:not([disabled])");
      if (first) { e.preventDefault(); anchor = e.target; first.focus(); }
    }
    const form = bar();
    const barUp = root.classList.contains("selecting") || (form && form.classList.contains("reporting"));
    if (e.key === "Escape" && barUp && !e.defaultPrevented
        && !(e.target.closest && e.target.closest("input[type=text], input[type=search], textarea, select"))) {
      e.preventDefault();
      closeBar();
    }
  });

  // Long-press on touch: ticks the tile; the click that follows the finger lifting must not open the photo.
  let press = null;
  let swallowClick = false;
  document.addEventListener("touchstart", (e) => {
    swallowClick = false; // a long-press that ended without a click must not eat the next tap
    const item = e.touches.length === 1 && e.target.closest("[data-select-item]");
    if (!item || e.target.closest("input, button, details")) { press = null; return; }
    const start = { x: e.touches[0].clientX, y: e.touches[0].clientY };
    const timer = setTimeout(() => {
      const box = item.querySelector("input[data-select-box]");
      if (!box) return;
      box.checked = !box.checked;
      used(box, false);
      swallowClick = true;
      if (navigator.vibrate) navigator.vibrate(15);
    }, LONG_PRESS_MS);
    press = { start, timer };
  }, { passive: true });
  function cancelPress() { if (press) { clearTimeout(press.timer); press = null; } }
  document.addEventListener("touchmove", (e) => {
    if (!press) return;
    const t = e.touches[0];
    if (e.touches.length > 1 || Math.abs(t.clientX - press.start.x) > 10 || Math.abs(t.clientY - press.start.y) > 10) cancelPress();
  }, { passive: true });
  document.addEventListener("touchend", cancelPress, { passive: true });
  document.addEventListener("touchcancel", cancelPress, { passive: true });
  document.addEventListener("click", (e) => {
    if (!swallowClick) return;
    swallowClick = false;
    if (e.target.closest("[data-select-item]")) { e.preventDefault(); e.stopImmediatePropagation(); }
  }, true);
  // The long-press menu of the browser (save image, open in new tab) would cover the tile.
  document.addEventListener("contextmenu", (e) => {
    if (swallowClick && e.target.closest("[data-select-item]")) e.preventDefault();
  });

  // The server did an action: untick what was done; after trash/restore those photos leave this list.
  document.addEventListener("bulk-done", (e) => {
    const detail = e.detail || {};
    const done = new Set((detail.ok || []).map(String));
    // Off every list (the trash, out of the album), or off this page's (unfavourited on the favourites).
    // The list on the page names them (data-select-removes: the favourites timeline, search results swapped in with
    // "Favourites only" ticked, and "Remove tags" on a tag's timeline or results).
    // A list of one tag's photos (data-select-removes-tag) names the tag: only its removal takes them off. Both are
    // the database's keys of the names (its lower(), as the list finds its tag), compared as they are: JavaScript's
    // toLowerCase() reads "İSTANBUL" and "ΟΔΟΣ" otherwise.
    const form = bar();
    const removedTags = detail.tags || [];
    const remove = detail.remove || Array.from(document.querySelectorAll("[data-select-removes]")).some((el) =>
      el.dataset.selectRemoves.split(" ").includes(detail.action)
      && (el.dataset.selectRemovesTag === undefined || removedTags.includes(el.dataset.selectRemovesTag)));
    const removed = []; // the family of each photo taken off
    boxes().forEach((box) => {
      if (!done.has(box.value)) return;
      box.checked = false;
      if (remove) {
        const item = box.closest("[data-select-item]");
        if (item) { item.remove(); removed.push(box.dataset.family); }
      }
    });
    if (remove && done.size) dropEmptyHeadings();
    // The page's counts of this list count them off too: an album's "N photos", the timeline's "Smiths (N)" for
    // the photos of its family (data-list-family), in their own words (data-list-format: {n}, {s}, {name}).
    document.querySelectorAll("[data-list-total]").forEach((total) => {
      const family = total.dataset.listFamily;
      const gone = removed.filter((f) => !family || f === family).length;
      if (!gone) return;
      const left = Math.max(0, Number(total.dataset.listTotal) - gone);
      total.dataset.listTotal = String(left);
      // (functions as replacements: a "$&" in a family's name is no pattern)
      total.textContent = (total.dataset.listFormat || "{n} photo{s}").replace("{n}", () => String(left))
        .replace("{s}", () => (left === 1 ? "" : "s")).replace("{name}", () => total.dataset.listName || "");
    });
    // The button pressed is disabled now (nothing is ticked): the keyboard's focus moves to the bar's Close.
    const focusInBar = form && form.contains(document.activeElement);
    if (form) {
      form.classList.add("reporting"); // the bar stays to show what happened until closed or used again
      forgetInvalid(form);
    }
    // After a shift of the dates, what the tiles carry is their new date (a shift of them again is no conflict).
    Object.entries(detail.taken_at_seen || {}).forEach(([id, value]) => {
      document.querySelectorAll(`input[data-select-with="${id}"][name=taken_at_seen]`).forEach((input) => {
        input.value = value;
      });
    });
    if (detail.action === "add_tags" || detail.action === "remove_tags") {
      const tags = bar() && bar().querySelector("input[name=tags]");
      if (tags && done.size) tags.value = "";
    }
    update();
    const close = form && form.querySelector("[data-select-clear]");
    if (focusInBar && close && !close.hidden && (document.activeElement === document.body || document.activeElement.disabled)) {
      close.focus();
    }
  });

  // New tiles (infinite scroll) or new results (a search): the count and the day buttons follow.
  document.addEventListener("htmx:afterSettle", update);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", update);
  else update();
})();
