// The upload page: chosen or dropped files (the files in a dropped folder too) wait in a list until the person
// presses "Upload", so the family and tags they set after choosing the files apply (both are read when the upload
// starts). Each file then goes in its own request (at most three at a time) with its own progress bar and result
// row, under an overall "12 of 21" count. A file the network or the server failed gets a plain reason and a Retry
// button (with no new file chosen, the form's button becomes "Retry N failed photos": all of them at once, after the
// server was down); one refused for the tags typed (not for itself) goes back to the list with the reason, to go again once
// they are fixed. A file over the per-file limit is refused as soon as it is chosen, with the server's own words:
// not sent for nothing. The count is of every file chosen, refused ones included, and names those refused and why.
// Without this script the form posts all files at once and the server answers with the same result rows.
(function () {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const input = document.getElementById("file-input");
  const dropzone = document.getElementById("dropzone");
  const list = document.getElementById("upload-list");
  const button = document.getElementById("upload-button");
  const progress = document.getElementById("upload-progress");
  const target = document.getElementById("upload-target");
  const targetLead = document.getElementById("upload-target-lead");
  const PARALLEL = 3;
  const maxBytes = Number(form.dataset.maxBytes) || 0; // UPLOAD_MAX_BYTES (the server checks it too)
  form.noValidate = true; // this script says what is missing itself (the browser's bubble is for no-JS posts)
  dropzone.classList.add("scripted"); // the list shows what is chosen: the input's own "No file chosen" is hidden

  const waiting = []; // chosen, not sent yet: {file, li}
  const queue = []; // sent or to be sent: {file, li, family, tags, album}
  // Of the files sent (duplicates: already in the family, so what was typed with them, tags and description, was not
  // applied: the summary is what a screen reader hears as files finish, so it says so too).
  const counts = { total: 0, done: 0, failed: 0, duplicates: 0 };
  const refused = []; // names of the files refused as soon as they were chosen (over the per-file limit)
  // Names of the files the server rejected, in the order they finished (how many: its length): the summary names them,
  // as on a phone their rows may be screens further down the list.
  const rejectedNames = [];
  const failed = []; // sent, failed on the way (the network, the server down): each has a Retry, "Upload" sends them all
  let chosenRows = []; // the rows of the files chosen since the last "Upload", in the order chosen (top of the list)
  let inFlight = 0;

  function chosenFamily() {
    return form.querySelector("input[name=family]:checked");
  }

  // The album list offers the chosen family's albums only (another family's can't take its photos).
  const albumSelect = document.getElementById("upload-album");
  function syncAlbums() {
    if (!albumSelect) return;
    const family = chosenFamily();
    for (const group of albumSelect.querySelectorAll("optgroup")) {
      const mine = Boolean(family) && Array.from(group.children).some((option) => option.dataset.family === family.value);
      group.hidden = !mine;
      group.disabled = !mine;
    }
    const picked = albumSelect.selectedOptions[0];
    if (picked && picked.parentElement.disabled) albumSelect.value = "";
  }
  form.addEventListener("change", (e) => { if (e.target.name === "family") syncAlbums(); });
  syncAlbums();

  function plural(n, word) {
    return n + " " + word + (n === 1 ? "" : "s");
  }

  function refresh() {
    const family = chosenFamily();
    targetLead.hidden = !family;
    target.textContent = family ? family.dataset.name : "Choose a family above";
    target.classList.toggle("unchosen", !family);
    button.textContent = waiting.length
      ? "Upload " + plural(waiting.length, "photo") + (family ? " to " + family.dataset.name : "")
      : failed.length ? "Retry " + plural(failed.length, "failed photo") : "Upload";
    if (counts.total || refused.length) {
      // done + failed + refused + still going = every file chosen: the numbers add up.
      const parts = [];
      if (counts.total) parts.push(counts.done + " of " + (counts.total + refused.length) + " done");
      if (counts.duplicates) parts.push(counts.duplicates + " already in the family (duplicate" + (counts.duplicates === 1 ? ")" : "s)"));
      const rejected = rejectedNames.length;
      if (rejected) {
        parts.push(rejected + " rejected, not kept: " + rejectedNames.slice(0, 10).join(", ") +
          (rejected > 10 ? ", and " + (rejected - 10) + " more" : "") + (rejected === 1 ? " (why is under it)" : " (why is under each)"));
      }
      if (counts.failed) parts.push(counts.failed + " failed (use Retry)");
      if (refused.length) {
        parts.push(refused.length + " refused, over the " + form.dataset.maxSize + " limit per file: " + refused.join(", "));
      }
      progress.hidden = false;
      progress.textContent = parts.join("; ") + (counts.done + counts.failed === counts.total ? "." : "…");
    } else if (waiting.some((item) => item.notSent)) {
      progress.hidden = false;
      progress.textContent = "Nothing was sent: fix what is said under the files, then upload them again.";
    }
  }

  function setOutcome(li, text) {
    li.querySelector(".outcome").textContent = text;
  }

  // Files chosen since the last "Upload" head the list, in the order chosen (above the rows of earlier uploads).
  function place(li) {
    const last = chosenRows.filter((row) => row.isConnected).pop();
    if (last) last.after(li);
    else list.prepend(li);
    chosenRows.push(li);
  }

  function refuseAtOnce(file) {
    // The same row the server gives a file it refused (templates/gallery/upload.html).
    const li = document.createElement("li");
    li.className = "upload-row result-rejected";
    li.dataset.outcome = "rejected";
    li.innerHTML = '<span class="mini"></span><span class="filename"></span><span class="outcome">Rejected</span>' +
      '<span class="reason"></span>';
    li.querySelector(".filename").textContent = file.name;
    li.querySelector(".reason").textContent = form.dataset.tooLarge;
    place(li);
    refused.push(file.name);
  }

  function addWaiting(files) {
    for (const file of files) {
      if (maxBytes && file.size > maxBytes) {
        refuseAtOnce(file);
        continue;
      }
      const li = document.createElement("li");
      li.className = "upload-row waiting";
      li.innerHTML = '<span class="mini"></span><span class="filename"></span><span class="outcome">Ready</span>';
      li.querySelector(".filename").textContent = file.name;
      const item = { file, li };
      addRemove(item);
      place(li);
      waiting.push(item);
    }
    input.value = ""; // the same file can be chosen again; the list above is what will be sent
    refresh();
  }

  function start() {
    const family = chosenFamily();
    if (!family) {
      progress.hidden = false;
      progress.textContent = "Choose the family these photos belong to first.";
      form.querySelector("input[name=family]").focus();
      return;
    }
    const tags = form.querySelector("[name=tags]").value;
    const album = albumSelect ? albumSelect.value : "";
    chosenRows = []; // the next files chosen go above these
    for (const item of waiting.splice(0)) {
      item.family = family.value;
      item.tags = tags;
      item.album = album;
      item.notSent = false;
      item.li.querySelector(".remove").remove();
      enqueue(item);
    }
    pump();
  }

  function enqueue(item) {
    const li = item.li;
    li.className = "upload-row sending";
    li.querySelector(".reason")?.remove();
    li.querySelector(".retry")?.remove();
    if (!li.querySelector("progress")) {
      const bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      li.querySelector(".filename").after(bar);
    }
    setOutcome(li, "Waiting…");
    if (!item.counted) counts.total += 1; // a retry is the same file: "N of M" keeps its M
    item.counted = true;
    queue.push(item);
    refresh();
  }

  function pump() {
    while (inFlight < PARALLEL && queue.length) {
      const item = queue.shift();
      inFlight += 1;
      send(item).then(() => {
        inFlight -= 1;
        refresh();
        pump();
      });
    }
  }

  function csrfToken() {
    // The cookie, when readable, is current even after signing in again in another tab.
    const cookie = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
    return cookie ? decodeURIComponent(cookie.split("=")[1]) : form.querySelector("[name=csrfmiddlewaretoken]").value;
  }

  function send(item) {
    return new Promise((resolve) => {
      const { file, li } = item;
      const data = new FormData();
      data.append("family", item.family);
      data.append("tags", item.tags);
      if (item.album) data.append("album", item.album);
      data.append("files", file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-Upload-Script", "1");
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      const bar = li.querySelector("progress");
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
        setOutcome(li, "Uploading…");
      });
      xhr.upload.addEventListener("load", () => setOutcome(li, "Processing…"));
      xhr.addEventListener("load", () => {
        const answer = answered(xhr);
        const resend = answer && Array.from(answer).find((row) => row.dataset && "resend" in row.dataset);
        if (resend) {
          // Refused for the tags typed, not for the file: it waits in the list to go again once they are fixed.
          backToWaiting(item, resend.querySelector(".reason")?.textContent || "");
        } else if (answer) {
          // (answer is live: read before its rows move into the list)
          const outcome = (name) => Array.from(answer).some((row) => row.dataset && row.dataset.outcome === name);
          const rejected = outcome("rejected");
          const duplicate = outcome("duplicate");
          li.replaceWith(...answer);
          counts.done += 1;
          if (rejected) {
            rejectedNames.push(item.file.name);
          }
          if (duplicate) counts.duplicates += 1;
        } else {
          fail(item, reasonFor(xhr));
        }
        resolve();
      });
      xhr.addEventListener("error", () => {
        fail(item, { text: "Could not reach the server. Check your connection, then retry.", retry: true });
        resolve();
      });
      xhr.send(data);
    });
  }

  // The result rows, when the server answered with them (not with a sign-in page or an error page).
  function answered(xhr) {
    if (xhr.status !== 200 || !new URL(xhr.responseURL, location.href).pathname.endsWith(new URL(form.action).pathname)) {
      return null;
    }
    const tpl = document.createElement("template");
    tpl.innerHTML = xhr.responseText.trim();
    return tpl.content.querySelector("[data-outcome]") ? tpl.content.childNodes : null;
  }

  function reasonFor(xhr) {
    const s = xhr.status;
    if (s === 200 || s === 401 || s === 403) {
      return { text: "You have been signed out. Sign in again (in another tab), then retry.", retry: true };
    }
    const plain = (xhr.getResponseHeader("Content-Type") || "").startsWith("text/plain") && xhr.responseText.trim();
    if (plain && s >= 400 && s < 500 && s !== 404) {
      return { text: plain.slice(0, 300), retry: false };  // a plain refusal meant for the person (e.g. too large)
    }
    if (s === 413) return { text: "This file is larger than the server accepts.", retry: false };
    if (s === 404) {
      return { text: "That family is no longer one of yours. Choose another family and add the file again.", retry: false };
    }
    if (s >= 500) return { text: "The server had a problem storing this file. Retry in a moment.", retry: true };
    return { text: "The server did not accept this file. Retry, or reload the page if it keeps failing.", retry: true };
  }

  function backToWaiting(item, reason) {
    const li = item.li;
    li.className = "upload-row waiting";
    li.querySelector("progress")?.remove();
    setOutcome(li, "Not sent");
    counts.total -= 1; // not sent after all: "N of M" counts it again when it goes
    item.counted = false;
    item.notSent = true;
    const span = document.createElement("span");
    span.className = "reason";
    span.textContent = reason;
    addRemove(item);
    li.append(span);
    waiting.push(item);
  }

  function addRemove(item) {
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link remove";
    remove.textContent = "Remove";
    remove.addEventListener("click", () => {
      waiting.splice(waiting.indexOf(item), 1);
      item.li.remove();
      refresh();
    });
    item.li.append(remove);
  }

  function resend(item) {
    failed.splice(failed.indexOf(item), 1);
    counts.failed -= 1;
    delete item.li.dataset.outcome;
    enqueue(item);
  }

  function fail(item, reason) {
    const li = item.li;
    li.className = "upload-row result-failed";
    li.dataset.outcome = "failed";
    li.querySelector("progress")?.remove();
    setOutcome(li, "Not uploaded");
    if (reason.retry) {
      counts.failed += 1;
      const retry = document.createElement("button");
      retry.type = "button";
      retry.className = "retry";
      retry.textContent = "Retry";
      retry.addEventListener("click", () => {
        resend(item);
        pump();
      });
      li.append(retry);
      failed.push(item);
    } else {
      counts.done += 1; // finished, like a file the server rejected: the reason says why
    }
    const span = document.createElement("span");
    span.className = "reason";
    span.textContent = reason.text;
    li.append(span);
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (waiting.length) start();
    else if (failed.length) {  // the server back after it was down: every file that failed on the way goes again
      for (const item of failed.slice()) resend(item);
      pump();
    } else {
      progress.hidden = false;
      progress.textContent = "Choose some photos first.";
    }
  });
  form.addEventListener("change", (e) => {
    if (e.target === input) addWaiting(input.files);
    else refresh();
  });
  ["dragenter", "dragover"].forEach((ev) => dropzone.addEventListener(ev, (e) => { e.preventDefault(); dropzone.classList.add("over"); }));
  ["dragleave", "drop"].forEach((ev) => dropzone.addEventListener(ev, (e) => { e.preventDefault(); dropzone.classList.remove("over"); }));
  dropzone.addEventListener("drop", (e) => {
    // A dropped folder is one File the browser can't read (sending it fails as if the network had): list the files
    // in it instead, as the file chooser would. Entries are taken now: the drop's data is gone once this returns.
    const entries = Array.from(e.dataTransfer.items || [])
      .filter((item) => item.kind === "file")
      .map((item) => (item.webkitGetAsEntry ? item.webkitGetAsEntry() : null));
    if (entries.some((entry) => entry && entry.isDirectory)) {
      Promise.all(entries.map(entryFiles)).then((found) => addWaiting(found.flat()));
    } else if (e.dataTransfer.files.length) {
      addWaiting(e.dataTransfer.files);
    }
  });

  // The files of a dropped entry: itself, or every file in a folder and its folders (not hidden ones: .DS_Store).
  function entryFiles(entry) {
    if (!entry) return Promise.resolve([]);
    if (entry.isFile) return new Promise((resolve) => entry.file((file) => resolve([file]), () => resolve([])));
    const reader = entry.createReader();
    const children = [];
    return new Promise((resolve) => {
      const done = () => Promise.all(children.map(entryFiles)).then((found) => resolve(found.flat()));
      const more = () => reader.readEntries((batch) => { // a batch at a time (Chromium: 100), until an empty one
        if (!batch.length) return done();
        children.push(...batch.filter((child) => !child.name.startsWith(".")));
        more();
      }, done);
      more();
    });
  }
  window.addEventListener("beforeunload", (e) => {
    if (inFlight || queue.length || waiting.length) e.preventDefault(); // the browser asks "leave the page?"
  });
  // Files chosen before this script ran (a slow connection, or a quick hand) are in the list too.
  if (input.files.length) addWaiting(input.files);
  else refresh();
})();
