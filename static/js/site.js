// Small behaviours every page shares, wired by data attributes so templates carry no inline script.
(function () {
  // <select data-autosubmit>: choosing an option submits its form (a <noscript> button covers no-JS). Chosen from its
  // open list (a click, a tap, a phone's picker, Enter in the list), at once. Stepped through with the keys on the
  // closed select (arrows, Home/End, a letter: Chrome and Firefox change the value and fire "change" on each key),
  // only on Enter or when the focus leaves it changed: each step used to submit, so an admin stepping through a
  // member's role changed it at the first key, and the keyboard never got past a list's first option.
  const autosubmit = (target) => target.closest && target.closest("select[data-autosubmit]");
  const STEPS = /^(Arrow(Up|Down|Left|Right)|Home|End|Page(Up|Down)|.)$/u;
  const stepped = new WeakSet();
  const shown = new WeakMap(); // each select's value when the focus came to it, or when it last submitted
  const submit = (select) => {
    stepped.delete(select);
    shown.set(select, select.value);
    if (select.form) select.form.requestSubmit();
  };
  document.addEventListener("focusin", (e) => {
    const select = autosubmit(e.target);
    if (select) { shown.set(select, select.value); stepped.delete(select); }
  });
  document.addEventListener("keydown", (e) => {
    const select = autosubmit(e.target);
    if (!select) return;
    if (e.key === "Enter" && select.value !== shown.get(select)) { e.preventDefault(); submit(select); }
    else if (STEPS.test(e.key) && !e.altKey && e.key !== " ") stepped.add(select); // Alt+↓ and Space open the list
  });
  document.addEventListener("pointerdown", (e) => {
    const select = autosubmit(e.target);
    if (select) stepped.delete(select);
  });
  document.addEventListener("change", (e) => {
    const select = autosubmit(e.target);
    if (select && !stepped.has(select)) submit(select);
  });
  document.addEventListener("focusout", (e) => {
    const select = autosubmit(e.target);
    if (select && stepped.has(select) && select.value !== shown.get(select)) submit(select);
  });

  // "New album…" of an add-to-album picker (select[data-new-album]: a photo's page, the selection bar): the fields
  // of its form that name the new album (data-new-album-field: its name, its family) are sent only while it is
  // chosen. A browser without CSS :has() shows them beside every choice, and a name typed there with an album
  // chosen went unseen (the server refuses one now: only a browser with neither :has() nor script sends it).
  // Without script they are always sent, and :has() shows them only while "New album…" is chosen.
  const newAlbumFields = (select) => {
    const fields = select.form ? select.form.querySelectorAll("[data-new-album-field]") : [];
    fields.forEach((field) => { field.disabled = select.value !== "new"; });
  };
  const newAlbumPickers = () => document.querySelectorAll("select[data-new-album]").forEach(newAlbumFields);
  document.addEventListener("change", (e) => {
    if (e.target.matches && e.target.matches("select[data-new-album]")) newAlbumFields(e.target);
  });
  newAlbumPickers();
  // (the bar's list swapped in after a new album is made, the new one chosen; a page shown again from the cache)
  document.addEventListener("htmx:afterSettle", newAlbumPickers);
  window.addEventListener("pageshow", newAlbumPickers);

  // <a data-href-with="family">: a link that carries the value of its form's field of that name (the search page's
  // "Search quality", the family filtered to). The server draws it with the value of the page it drew; the field
  // changed since (the results redrawn, the link not), it takes the field's value as it is followed.
  const withField = (link) => {
    const form = link.closest("form");
    const field = form && form.elements.namedItem(link.dataset.hrefWith);
    if (!field || field.value === undefined) return;
    const url = new URL(link.href, document.baseURI);
    if (field.value) url.searchParams.set(link.dataset.hrefWith, field.value);
    else url.searchParams.delete(link.dataset.hrefWith);
    link.href = url.pathname + url.search + url.hash;
  };
  ["click", "auxclick", "contextmenu", "focusin"].forEach((type) => document.addEventListener(type, (e) => {
    const link = e.target.closest && e.target.closest("a[data-href-with]");
    if (link) withField(link);
  }, true));

  // <form data-confirm="Question?">: ask before submitting.
  document.addEventListener("submit", (e) => {
    const form = e.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) e.preventDefault();
  });

  // Range sliders show their value in the <output> next to them while they move.
  document.addEventListener("input", (e) => {
    const input = e.target;
    if (!input.matches(".slider input[type=range]")) return;
    const output = input.parentElement.querySelector("output");
    if (output) output.value = Number(input.value).toFixed(2);
  });

  // A panel opening ("toggle" does not bubble: caught on the way down):
  // - one explanation open at a time (on a phone each one is a sheet over the bottom of the screen);
  // - a search chip's ✎ box opens with the caret in its first field, its text selected to be typed over: else what
  //   was typed next went nowhere (on a phone the box opens at the foot of the screen, far from the ✎ tapped).
  document.addEventListener("toggle", (e) => {
    const opened = e.target;
    if (!opened.matches || !opened.open) return;
    if (opened.matches("details.explain")) {
      document.querySelectorAll("details.explain[open]").forEach((other) => { if (other !== opened) other.open = false; });
    } else if (opened.matches("details.chip-edit")) {
      const field = opened.querySelector("input:not([type=hidden]), select");
      if (!field) return;
      field.focus();
      if (field.select && field.type === "text") field.select();
    }
  }, true);

  // The folded menu, an open explanation and a search chip's "change" box close when a tap or click lands outside
  // them, when the focus goes elsewhere, and on Esc.
  const openPanels = () => document.querySelectorAll("details.menu[open], details.explain[open], details.chip-edit[open]");
  document.addEventListener("click", (e) => {
    openPanels().forEach((panel) => {
      if (!panel.contains(e.target)) panel.open = false;
    });
  });
  // The focus leaving one (Tab on past the menu's Sign out) closes it too: else the panel stays over what has the
  // focus now (the search box under the menu), where nobody can see it.
  document.addEventListener("focusin", (e) => {
    openPanels().forEach((panel) => {
      if (!panel.contains(e.target)) panel.open = false;
    });
  });
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || e.defaultPrevented) return;
    const open = openPanels();
    if (!open.length) return;
    open.forEach((panel) => {
      // A focus inside would be left on a hidden link: it goes back to the panel's own button.
      const inside = panel.contains(document.activeElement);
      panel.open = false;
      if (inside) panel.querySelector("summary").focus();
    });
    e.preventDefault(); // this Esc only closes: the viewer's (back to the list) waits for the next one
  });

  // A request htmx sends for the page (results as one types, a heart, a verdict, the next page, polling) that the
  // server refused, or that never arrived, swaps nothing in: the page would stay as it was, the box saying "blue"
  // over the results for "red", with no word why. Say it in the bar, until the next request that works.
  const problem = document.getElementById("request-problem");
  const say = (text) => {
    if (!problem) return;
    problem.querySelector("[data-problem-text]").textContent = text;
    problem.hidden = false;
  };
  document.addEventListener("htmx:responseError", (e) => {
    const elt = e.detail.elt;
    if (elt && elt.matches && elt.matches("[data-viewer-step]")) return; // viewer.js opens the page that says why
    say(problemText(e.detail.xhr));
  });
  document.addEventListener("htmx:sendError", () => {
    say("The server could not be reached: check the connection, then try again.");
  });
  document.addEventListener("htmx:afterRequest", (e) => {
    if (e.detail.successful && problem) problem.hidden = true;
  });
  document.addEventListener("click", (e) => {
    if (problem && e.target.closest("[data-problem-close]")) problem.hidden = true;
  });

  // A request whose address the page takes as its own (hx-push-url="true": the search box as one types, a chip, a
  // filter) says so: when the session has ended under the page, the sign-in page brings one back there (the words
  // typed), not to the address the page had before (gallery.middleware.HtmxSignInMiddleware).
  document.addEventListener("htmx:configRequest", (e) => {
    const pushing = e.detail.elt.closest && e.detail.elt.closest("[hx-push-url]");
    if (pushing && pushing.getAttribute("hx-push-url") === "true") e.detail.headers["X-Page-Url"] = "1";
  });

  // "Show more" (search results) swaps in a longer list, itself gone with the old one: a focus on it would fall back
  // to the page's start. It goes to the first photo added, the tile at the link's data-more-from.
  let focusMoreFrom = null;
  document.addEventListener("htmx:beforeRequest", (e) => {
    focusMoreFrom = e.detail.elt === document.activeElement && e.detail.elt.dataset.moreFrom || null;
  });
  document.addEventListener("htmx:afterSettle", () => {
    if (focusMoreFrom === null) return;
    const tile = document.querySelectorAll("#results .result a.tile")[Number(focusMoreFrom)];
    focusMoreFrom = null;
    if (tile) tile.focus();
  });

  // A region swapped whole (data-keep-focus: the photo page's tag suggestions, the search results) while a button or
  // link of it had the focus: it went with it (an accepted suggestion leaves the list, a chip's × its chip) and the
  // focus fell to the page's start. It goes to the button now in the same place (the next suggestion's Accept), else
  // to the region's line saying what was done or found ([data-swap-note], tabindex=-1), which a screen reader reads.
  // (A control with an id is given the focus back by htmx itself: the judge buttons, the hearts.) Each request keeps
  // its own note, by its XMLHttpRequest: another part of the page settling meanwhile (the photo page's similar photos,
  // loaded lazily) must not take it.
  const keptFocus = new WeakMap();
  document.addEventListener("htmx:beforeRequest", (e) => {
    const region = e.detail.target && e.detail.target.closest && e.detail.target.closest("[data-keep-focus]");
    if (e.detail.xhr && region && region.id && region.contains(document.activeElement)) {
      keptFocus.set(e.detail.xhr, {
        id: region.id, index: Array.from(region.querySelectorAll("button")).indexOf(document.activeElement) });
    }
  });
  document.addEventListener("htmx:afterSettle", (e) => {
    const kept = e.detail.xhr && keptFocus.get(e.detail.xhr);
    if (!kept) return;
    keptFocus.delete(e.detail.xhr);  // (settled once: an out-of-band part of the same answer settles after it)
    const { id, index } = kept;
    const region = document.getElementById(id);
    const active = document.activeElement;
    if (!region || (active && active !== document.body && active.isConnected)) return; // still somewhere real
    const target = region.querySelectorAll("button")[index] || region.querySelector("[data-swap-note]");
    if (target) target.focus();
  });

  // Back/Forward: htmx restores the page from its history cache, where a text box holds whatever it held when
  // the snapshot was taken. The address is the truth: put each text box of a GET form back to its value there. Not
  // a search chip's ✎ box (its place's name, which no address holds): emptied, its "Change" takes the place off.
  document.addEventListener("htmx:historyRestore", () => {
    const params = new URLSearchParams(location.search);
    const boxes = "form[method=get]:not(.chip-form) input[type=search], form[method=get]:not(.chip-form) input[type=text]";
    document.querySelectorAll(boxes).forEach((input) => {
      if (input.name) input.value = params.get(input.name) || "";
    });
  });
})();

// What a refused htmx request says to the person: a short plain-text answer is meant for them (a view's own reason);
// otherwise what its status means.
function problemText(xhr) {
  const s = xhr.status;
  const plain = (xhr.getResponseHeader("Content-Type") || "").startsWith("text/plain") && xhr.responseText.trim();
  if (plain && s >= 400 && s < 500 && plain.length <= 300) return plain;
  if (s === 502 || s === 503 || s === 504) return "The server is busy or restarting: try again in a moment.";
  if (s === 429) return "Too many requests at once: wait a moment, then try again.";
  if (s === 404) return "That is no longer there (someone may have moved it to the trash or removed it): reload the page.";
  if (s === 403) return "That is not allowed (any more): reload the page.";
  if (s === 413) return "That is more than the server accepts.";
  if (s >= 500) return "The server had a problem with that. Try again, or reload the page if it keeps failing.";
  return "The server did not accept that: reload the page, then try again.";
}

// <button data-copy="#id">: copy that field's text (an invitation or share link) and say so on the button.
document.addEventListener("click", (e) => {
  const button = e.target.closest("button[data-copy]");
  if (!button) return;
  const field = document.querySelector(button.dataset.copy);
  if (!field) return;
  field.select();
  const done = () => { button.textContent = "Copied"; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, () => { document.execCommand("copy"); done(); });
  } else {
    document.execCommand("copy");
    done();
  }
});

// A page drawn again with a form's errors (a full-page post: the family's new name, an invitation's note, a new
// album) starts at its top, where on a phone the field to fix may be screens away, and nothing is read out: it looks
// as if nothing happened. The first field with an error (Django marks it aria-invalid and links its message by
// aria-describedby) takes the focus, in view and read with its message. A field the page focuses itself wins.
if (!document.querySelector("[autofocus]")) {
  const invalid = document.querySelector("main [aria-invalid=true]");
  if (invalid) invalid.focus();
}
