// Darkroom console: live updates, uploads with progress, previews. No framework, no build.
(function () {
  "use strict";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";
  var POLL_MS = 1500;
  var IDLE_POLL_MS = 5000;
  var FINAL = { done: true, failed: true };

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, status: r.status, body: body }; });
      });
  }

  function debounce(fn, ms) {
    var timer;
    return function () { clearTimeout(timer); timer = setTimeout(fn, ms || 300); };
  }

  function fragment(html) {
    var t = document.createElement("template");
    t.innerHTML = html.trim();
    return t.content.firstElementChild;
  }

  function message(body, status) {
    return body && body.error && body.error.message ? body.error.message : "HTTP " + status;
  }

  // Fetch an image so that a refusal can say why (an <img> only says it failed).
  function showImage(img, errorEl, src) {
    return fetch(src, { credentials: "same-origin", headers: { Accept: "application/json, image/*" } })
      .then(function (r) {
        if (!r.ok) {
          return r.json().catch(function () { return null; }).then(function (body) {
            errorEl.textContent = "No preview: " + message(body, r.status);
            errorEl.hidden = false;
          });
        }
        return r.blob().then(function (blob) {
          var old = img.dataset.blob;
          img.src = URL.createObjectURL(blob);
          img.dataset.blob = img.src;
          if (old) { URL.revokeObjectURL(old); }
          errorEl.hidden = true;
        });
      });
  }

  // The images grid: keep the cards in step with the server (new images, status changes).
  function liveGrid(grid) {
    function sync(items) {
      var existing = new Map();
      Array.prototype.forEach.call(grid.children, function (c) { existing.set(c.dataset.id, c); });
      var position = grid.firstElementChild;
      var keep = new Set();
      items.forEach(function (item) {
        keep.add(item.id);
        var card = existing.get(item.id);
        if (!card || card.dataset.status !== item.status) {
          var fresh = fragment(item.html);
          if (card) { card.replaceWith(fresh); } else { grid.insertBefore(fresh, position); }
          card = fresh;
        }
        position = card.nextElementSibling;
      });
      existing.forEach(function (card, id) { if (!keep.has(id)) { card.remove(); } });
      var empty = document.querySelector("[data-empty]");
      if (empty) { empty.hidden = items.length > 0; }
    }
    // Quick while work runs (here or in an upload), slow when all is quiet.
    function busy() {
      return grid.querySelector('[data-status="pending"], [data-status="processing"]') !== null ||
        document.querySelector('[data-uploads] [data-status="uploading"], ' +
          '[data-uploads] [data-status="pending"], [data-uploads] [data-status="processing"]') !== null;
    }
    function tick() {
      var next = function () { setTimeout(tick, busy() ? POLL_MS : IDLE_POLL_MS); };
      if (document.hidden) { next(); return; }
      getJSON(grid.dataset.liveGrid)
        .then(function (r) { if (r.ok) { sync(r.body.items); } })
        .catch(function () {})
        .then(next);
    }
    setTimeout(tick, POLL_MS);
  }

  // Uploads: one request per file with its progress, then its status until done or failed.
  function uploader(form) {
    var input = form.querySelector('input[type="file"]');
    var zone = form.querySelector("[data-dropzone]");
    var list = document.querySelector("[data-uploads]");
    var submit = form.querySelector("[data-upload-submit]");
    if (submit) { submit.hidden = true; }

    function follow(row, status, url) {
      getJSON(url).then(function (r) {
        if (!r.ok) { status.textContent = message(r.body, r.status); return; }
        row.dataset.status = r.body.status;
        status.textContent = r.body.status;
        status.className = "badge badge-" + r.body.status;
        if (!FINAL[r.body.status]) { setTimeout(function () { follow(row, status, url); }, POLL_MS); }
      }).catch(function () { setTimeout(function () { follow(row, status, url); }, POLL_MS * 2); });
    }

    function sendOne(file) {
      var row = document.createElement("li");
      var name = document.createElement("span");
      var progress = document.createElement("progress");
      var status = document.createElement("span");
      name.className = "name";
      name.textContent = file.name;
      progress.max = file.size || 1;
      progress.value = 0;
      progress.setAttribute("aria-label", "Upload of " + file.name);
      status.textContent = "uploading";
      row.dataset.status = "uploading";
      row.append(name, progress, status);
      list.append(row);

      var data = new FormData();
      data.append("files", file, file.name);
      form.querySelectorAll('input[name="profiles"]:checked').forEach(function (c) {
        data.append("profiles", c.value);
      });
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) { progress.max = e.total; progress.value = e.loaded; }
      };
      xhr.onload = function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        progress.value = progress.max;
        if (xhr.status === 202 && body) {
          var item = body.items[0];
          var link = document.createElement("a");
          link.href = item.url;
          link.textContent = file.name;
          name.replaceChildren(link);
          row.dataset.id = item.id;
          follow(row, status, item.url.replace("/images/", "/api/images/"));
        } else {
          row.dataset.status = "refused";
          status.textContent = "refused: " + message(body, xhr.status);
          status.className = "error";
        }
      };
      xhr.onerror = function () {
        row.dataset.status = "refused";
        status.textContent = "network error";
        status.className = "error";
      };
      xhr.send(data);
    }

    function send(files) { Array.prototype.forEach.call(files, sendOne); }

    form.addEventListener("submit", function (e) { e.preventDefault(); send(input.files); input.value = ""; });
    input.addEventListener("change", function () { send(input.files); input.value = ""; });
    zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      zone.classList.remove("over");
      send(e.dataTransfer.files);
    });
  }

  // The image page: reload once the image's state changes (e.g. after a retry finishes).
  function liveImage(box) {
    var seen = box.dataset.status;
    if (FINAL[seen]) { return; }
    function tick() {
      getJSON(box.dataset.liveImage).then(function (r) {
        if (r.ok && r.body.status !== seen) { window.location.reload(); return; }
        setTimeout(tick, POLL_MS);
      }).catch(function () { setTimeout(tick, POLL_MS * 2); });
    }
    setTimeout(tick, POLL_MS);
  }

  function playground(form) {
    var img = document.querySelector("[data-playground-preview]");
    var out = document.querySelector("[data-playground-url]");
    var note = document.querySelector("[data-playground-note]");
    var error = document.querySelector("[data-playground-error]");
    function update() {
      var query = new URLSearchParams();
      new FormData(form).forEach(function (v, k) { if (v !== "") { query.append(k, v); } });
      getJSON(form.dataset.playground + "?" + query).then(function (r) {
        if (!r.ok) {
          error.textContent = message(r.body, r.status);
          error.hidden = false;
          return;
        }
        out.value = r.body.url || "";
        note.textContent = r.body.note || "";
        showImage(img, error, r.body.preview);
      });
    }
    form.addEventListener("input", debounce(update));
    form.addEventListener("submit", function (e) { e.preventDefault(); update(); });
    update();
  }

  function profileEditor(form) {
    var spec = form.querySelector("#spec");
    var chooser = form.querySelector("[data-preview-image]");
    var img = document.querySelector("[data-profile-preview]");
    var error = document.querySelector("[data-preview-error]");
    if (!img || !chooser || !chooser.value) { return; }
    function update() {
      try { JSON.parse(spec.value); } catch (e) {
        error.textContent = "The spec is not valid JSON yet: " + e.message;
        error.hidden = false;
        return;
      }
      var query = new URLSearchParams({ image: chooser.value, spec: spec.value });
      showImage(img, error, form.dataset.profileEditor + "?" + query);
    }
    spec.addEventListener("input", debounce(update, 400));
    chooser.addEventListener("change", update);
    update();
  }

  // Styles cannot be inline under the console's CSP: place boxes and colours from data.
  function decorate() {
    document.querySelectorAll(".face-box[data-box]").forEach(function (box) {
      var p = box.dataset.box.split(",");
      box.style.left = p[0] + "%";
      box.style.top = p[1] + "%";
      box.style.width = p[2] + "%";
      box.style.height = p[3] + "%";
    });
    document.querySelectorAll(".swatch[data-colour]").forEach(function (s) {
      if (/^#[0-9a-fA-F]{6}$/.test(s.dataset.colour)) { s.style.background = s.dataset.colour; }
    });
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var input = document.getElementById(button.dataset.copy);
        input.select();
        var done = function () {
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = "Copy"; }, 1500);
        };
        if (navigator.clipboard) {
          navigator.clipboard.writeText(input.value).then(done, function () {
            document.execCommand("copy");
            done();
          });
        } else {
          document.execCommand("copy");
          done();
        }
      });
    });
  }

  function each(selector, fn) { document.querySelectorAll(selector).forEach(fn); }

  decorate();
  each("[data-live-grid]", liveGrid);
  each("form[data-upload]", uploader);
  each("[data-live-image]", liveImage);
  each("form[data-playground]", playground);
  each("form[data-profile-editor]", profileEditor);
})();
