// Small behaviours every page shares, wired by data attributes so templates carry no inline script.
(function () {
  // <select data-autosubmit>: choosing an option submits its form (a <noscript> button covers no-JS).
  document.addEventListener("change", (e) => {
    const select = e.target.closest("select[data-autosubmit]");
    if (select && select.form) select.form.requestSubmit();
  });

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

  // One explanation open at a time (on a phone each one is a sheet over the bottom of the screen).
  document.addEventListener("toggle", (e) => {
    const opened = e.target;
    if (!opened.matches || !opened.matches("details.explain") || !opened.open) return;
    document.querySelectorAll("details.explain[open]").forEach((other) => { if (other !== opened) other.open = false; });
  }, true); // "toggle" does not bubble

  // The folded menu, an open explanation and a search chip's "change" box close when a tap or click lands outside
  // them, and on Esc.
  const openPanels = () => document.querySelectorAll("details.menu[open], details.explain[open], details.chip-edit[open]");
  document.addEventListener("click", (e) => {
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

  // Back/Forward: htmx restores the page from its history cache, where a text box holds whatever it held when
  // the snapshot was taken. The address is the truth: put each text box of a GET form back to its value there.
  document.addEventListener("htmx:historyRestore", () => {
    const params = new URLSearchParams(location.search);
    document.querySelectorAll("form[method=get] input[type=search], form[method=get] input[type=text]").forEach((input) => {
      if (input.name) input.value = params.get(input.name) || "";
    });
  });
})();

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
