// The photo viewer (templates/gallery/_viewer.html) and the lists it returns to. Without this script the viewer's
// links still work: previous, next and "Back to …" are plain links.
//  - ← / → step to the previous / next photo of the list, Esc goes back to the list (or leaves full screen),
//    F toggles full screen; never while typing in a field.
//  - A horizontal swipe on the photo steps (touch screens).
//  - Full screen: the photo fills the screen (the Fullscreen API where there is one; an overlay on phones without
//    it). The step links are boosted by htmx (only the body is swapped), so full screen lasts while stepping.
//  - Back on a list at #photo-<id> (the viewer's back link), the photo's tile is brought into view and focused.
//  - Slideshow: full screen, the next photo of the list every SLIDESHOW_SECONDS, until the list ends, the button (or
//    Space in full screen) pauses it, or full screen is left. Stepping by hand starts the wait again.
(function () {
  const root = document.documentElement;
  const FULL = "viewer-full";
  let focusAfterSwap = null; // which step link had the focus when it was used (to give it back after the swap)

  function viewer() { return document.querySelector("[data-viewer]"); }

  // Steps asked for while the previous one is loading wait their turn (a held-down arrow key walks on).
  let loading = false;
  const pending = [];

  function step(direction) {
    if (loading) { pending.push(direction); return true; }
    const link = document.querySelector(`[data-viewer-step="${direction}"]`);
    if (!link) return false;
    loading = Boolean(window.htmx);
    link.click(); // boosted by htmx; a plain navigation if htmx is missing
    return true;
  }

  function stepped() {
    loading = false;
    // After htmx has finished with the request that brought this page (a click inside its own event is dropped).
    if (pending.length) setTimeout(() => step(pending.shift()), 0);
  }

  function back() {
    const link = document.querySelector("[data-viewer-back]");
    if (link) window.location.assign(link.href);
  }

  function isFull() { return root.classList.contains(FULL); }

  function enterFull() {
    root.classList.add(FULL);
    if (root.requestFullscreen && !document.fullscreenElement) root.requestFullscreen().catch(() => {});
    sync();
  }

  function leaveFull() {
    root.classList.remove(FULL);
    if (document.fullscreenElement && document.exitFullscreen) document.exitFullscreen().catch(() => {});
    pause();
  }

  // The slideshow: on while `playing`; each new photo (a step's swap) waits the viewer's data-slide-seconds
  // (SLIDESHOW_SECONDS) again. A hidden tab waits.
  let playing = false;
  let timer = null;

  function slideMs() {
    const seconds = Number(viewer() && viewer().dataset.slideSeconds);
    return (seconds > 0 ? seconds : 5) * 1000;
  }

  function schedule() {
    clearTimeout(timer);
    if (!playing) return;
    timer = setTimeout(() => {
      if (document.hidden) schedule();
      else if (!step("next")) pause(); // the end of the list
    }, slideMs());
  }

  function play() {
    playing = true;
    if (!isFull()) enterFull();
    sync();
    schedule();
  }

  function pause() {
    playing = false;
    clearTimeout(timer);
    sync();
  }

  // The full-screen and slideshow buttons are shown (and labelled) only when this script runs; after each swap the
  // new body comes with them hidden again. The slideshow is offered where there is a next photo to go to.
  function sync() {
    const toggle = document.querySelector("[data-viewer-fullscreen]");
    if (toggle) {
      toggle.hidden = false;
      toggle.setAttribute("aria-pressed", isFull() ? "true" : "false");
    }
    const more = Boolean(document.querySelector('[data-viewer-step="next"]'));
    document.querySelectorAll("[data-viewer-play]").forEach((button) => {
      button.hidden = !more && !playing;
      button.setAttribute("aria-pressed", playing ? "true" : "false");
      const label = button.querySelector("[data-viewer-play-label]") || button;
      label.textContent = playing ? "Pause slideshow" : "Slideshow";
    });
  }

  function typing(target) {
    return target && target.closest && target.closest("input, textarea, select, [contenteditable=''], [contenteditable=true]");
  }

  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || !viewer() || typing(e.target)) return;
    if (e.key === "ArrowLeft" && step("prev")) e.preventDefault();
    else if (e.key === "ArrowRight" && step("next")) e.preventDefault();
    else if (e.key === "Escape") {
      // (An Esc that closed an open menu or explanation, in site.js, is marked handled and stops at the guard above.)
      e.preventDefault();
      if (isFull() || document.fullscreenElement) leaveFull();
      else if (!document.querySelector("#photo-meta form")) back(); // not while editing the title, tags, description
    } else if (e.key === "f" || e.key === "F") {
      e.preventDefault();
      if (isFull()) leaveFull(); else enterFull();
    } else if (e.key === " " && isFull() && !e.target.closest("button, a")) {
      e.preventDefault(); // (a focused button's own Space presses it)
      if (playing) pause(); else play();
    }
  });

  document.addEventListener("click", (e) => {
    if (e.target.closest("[data-viewer-fullscreen]")) { if (isFull()) leaveFull(); else enterFull(); }
    else if (e.target.closest("[data-viewer-fullscreen-exit]")) leaveFull();
    else if (e.target.closest("[data-viewer-play]")) { if (playing) pause(); else play(); }
  });

  // The browser left full screen (its own Esc, a gesture): leave the overlay too, and the slideshow.
  document.addEventListener("fullscreenchange", () => {
    if (!document.fullscreenElement && isFull()) { root.classList.remove(FULL); pause(); }
  });

  // Swipe: one finger, mostly sideways, quick enough; not while the page is pinch-zoomed (that pans the photo).
  let touch = null;
  document.addEventListener("touchstart", (e) => {
    touch = e.touches.length === 1 && e.target.closest("[data-viewer-stage]")
      ? { x: e.touches[0].clientX, y: e.touches[0].clientY, t: Date.now() } : null;
  }, { passive: true });
  document.addEventListener("touchmove", (e) => { if (e.touches.length > 1) touch = null; }, { passive: true });
  document.addEventListener("touchend", (e) => {
    if (!touch || e.changedTouches.length !== 1) return;
    const dx = e.changedTouches[0].clientX - touch.x;
    const dy = e.changedTouches[0].clientY - touch.y;
    const zoomed = window.visualViewport && window.visualViewport.scale > 1.05;
    const start = touch;
    touch = null;
    if (zoomed || Date.now() - start.t > 800 || Math.abs(dx) < 50 || Math.abs(dx) < 1.5 * Math.abs(dy)) return;
    step(dx < 0 ? "next" : "prev");
  }, { passive: true });

  // After a step the new body is in: show the full-screen button again and give the focus back to the step link
  // that was used (keyboard and screen-reader users keep their place).
  // A step link that has the focus when its request starts gets it back on the new page.
  document.addEventListener("htmx:beforeRequest", () => {
    const active = document.activeElement;
    if (active && active.matches("[data-viewer-step]")) focusAfterSwap = active.dataset.viewerStep;
  });
  document.addEventListener("htmx:responseError", (e) => {
    pending.length = 0; loading = false; pause();
    // A step the server refused (its photo gone to the trash meanwhile, a share link ended): htmx swaps nothing in,
    // so the page would stay as it was; going there plainly shows the page that says why.
    const link = e.detail.elt;
    if (link && link.matches && link.matches("[data-viewer-step]")) window.location.assign(link.href);
  });
  document.addEventListener("htmx:sendError", () => { pending.length = 0; loading = false; pause(); });
  document.addEventListener("htmx:afterSettle", (e) => {
    if (e.detail.target !== document.body) return; // a partial (e.g. "More like this"), not a step
    if (!viewer()) pause(); // a step that left the viewer (its photo gone: the list's page)
    sync();
    schedule();
    stepped();
    if (!focusAfterSwap) return;
    const target = document.querySelector(`[data-viewer-step="${focusAfterSwap}"]`) || document.querySelector("[data-viewer-back]");
    focusAfterSwap = null;
    if (target) target.focus({ preventScroll: true });
  });

  // Back on a list at #photo-<id>: that photo in view and focused (the search box's autofocus must not win), unless
  // the focus is on one of that photo's own controls already (an album's arranging button pressed from the keyboard,
  // which albums.js focuses again on the page that comes back).
  function focusReturnedTile() {
    const match = /^#photo-(\d+)$/.exec(window.location.hash);
    if (!match || viewer()) return;
    const place = document.getElementById(`photo-${match[1]}`);
    if (!place) return;
    const tile = place.matches("a") ? place : place.querySelector("a.tile");
    if (tile && document.activeElement === tile) return;
    const item = place.closest("[data-select-item]");
    if (item && item.contains(document.activeElement) && document.activeElement.matches(".album-tools button")) return;
    place.scrollIntoView({ block: "center" });
    if (tile) tile.focus({ preventScroll: true });
  }

  sync();
  // Once parsed, and again after the browser has run autofocus (a later rendering step) and loaded the page.
  function returned() {
    focusReturnedTile();
    requestAnimationFrame(() => requestAnimationFrame(focusReturnedTile));
    window.addEventListener("load", focusReturnedTile, { once: true });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", returned);
  else returned();
})();
