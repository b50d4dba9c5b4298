// Uploads each file in its own request so every file gets a progress bar and its own result.
// htmx can't report per-file upload progress for a multi-file form; without this script the
// form still posts all files at once and the server answers with the same result rows.
(function () {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const input = document.getElementById("file-input");
  const dropzone = document.getElementById("dropzone");
  const list = document.getElementById("upload-list");
  const PARALLEL = 3;

  function row(file) {
    const li = document.createElement("li");
    li.className = "upload-row pending";
    li.innerHTML = '<span class="mini"></span><span class="filename"></span><progress max="100" value="0"></progress><span class="outcome">Waiting…</span>';
    li.querySelector(".filename").textContent = file.name;
    list.prepend(li);
    return li;
  }

  function send(file, li) {
    return new Promise((resolve) => {
      const data = new FormData();
      data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
      data.append("family", form.querySelector("[name=family]").value);
      data.append("tags", form.querySelector("[name=tags]").value);
      data.append("files", file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-Upload-Script", "1");
      const bar = li.querySelector("progress");
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
        li.querySelector(".outcome").textContent = "Uploading…";
      };
      xhr.upload.onload = () => { li.querySelector(".outcome").textContent = "Processing…"; };
      xhr.onload = () => {
        if (xhr.status === 200) {
          const tpl = document.createElement("template");
          tpl.innerHTML = xhr.responseText.trim();
          li.replaceWith(...tpl.content.childNodes);
        } else if (xhr.status === 413) {
          fail(li, "The file is too large for the server.");
        } else if (xhr.status < 500 && (xhr.getResponseHeader("Content-Type") || "").startsWith("text/plain")) {
          fail(li, xhr.responseText);  // a plain refusal meant for the person (e.g. NUL characters)
        } else {
          fail(li, "The server answered " + xhr.status + ".");
        }
        resolve();
      };
      xhr.onerror = () => { fail(li, "Network error: the upload did not reach the server."); resolve(); };
      xhr.send(data);
    });
  }

  function fail(li, reason) {
    li.className = "upload-row result-rejected";
    li.dataset.outcome = "rejected";
    li.querySelector("progress")?.remove();
    li.querySelector(".outcome").textContent = "Failed";
    const span = document.createElement("span");
    span.className = "reason";
    span.textContent = reason;
    li.append(span);
  }

  async function uploadAll(files) {
    const queue = Array.from(files).map((file) => [file, row(file)]);
    const workers = Array.from({ length: PARALLEL }, async () => {
      while (queue.length) {
        const [file, li] = queue.shift();
        await send(file, li);
      }
    });
    await Promise.all(workers);
    input.value = "";
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (input.files.length) uploadAll(input.files);
  });
  input.addEventListener("change", () => { if (input.files.length) uploadAll(input.files); });
  ["dragenter", "dragover"].forEach((ev) => dropzone.addEventListener(ev, (e) => { e.preventDefault(); dropzone.classList.add("over"); }));
  ["dragleave", "drop"].forEach((ev) => dropzone.addEventListener(ev, (e) => { e.preventDefault(); dropzone.classList.remove("over"); }));
  dropzone.addEventListener("drop", (e) => { if (e.dataTransfer.files.length) uploadAll(e.dataTransfer.files); });
})();
