// The Django admin's autocomplete boxes (select2) take their name from the text shown in them: while no one is chosen
// (a membership row to add) the box was a combo box with no name for a screen reader. Each box is named by the select
// it stands for (its aria-label, set by the form), followed by what it shows; the text it shows, by that name too.
(function () {
  const nameBoxes = (root) => {
    root.querySelectorAll("select.admin-autocomplete[aria-label][id]").forEach((select) => {
      const box = select.parentElement.querySelector(".select2-selection[role=combobox][aria-labelledby]");
      const shown = box && document.getElementById(box.getAttribute("aria-labelledby")); // select2's text shown
      if (!shown || document.getElementById(`${select.id}-name`)) return;
      const name = document.createElement("span");
      name.id = `${select.id}-name`;
      name.hidden = true;
      name.textContent = select.getAttribute("aria-label");
      select.after(name);
      box.setAttribute("aria-labelledby", `${name.id} ${shown.id}`);
      shown.setAttribute("aria-labelledby", name.id);
    });
  };
  // After Django's autocomplete.js made the boxes: in jQuery's ready handlers, after its own (registered first, this
  // script being deferred); a page without jQuery has no boxes.
  if (window.django && window.django.jQuery) window.django.jQuery(() => nameBoxes(document));
  document.addEventListener("formset:added", (event) => nameBoxes(event.target));
})();
