// Orders pages: SKU suggestions and extra lines on the new-order form, upload progress on the
// CSV import. Loaded only by the pages that need it; no inline scripts anywhere.
(function () {
  "use strict";

  // --- New order: SKU suggestions as the user types -------------------------------------------
  var lookupTimer = null;
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[data-sku-lookup]")) return;
    var list = document.getElementById(input.getAttribute("list"));
    if (!list || !list.dataset.lookupUrl || !window.htmx) return;
    window.clearTimeout(lookupTimer);
    var text = input.value.trim();
    if (text.length < 1) return;
    lookupTimer = window.setTimeout(function () {
      window.htmx.ajax("GET", list.dataset.lookupUrl, {
        target: list,
        swap: "innerHTML",
        values: { q: text }
      });
    }, 250);
  });

  // --- New order: add another line from the empty-form template --------------------------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-add-line]") : null;
    if (!button) return;
    var form = button.closest("form");
    var template = document.getElementById("order-line-template");
    var body = form && form.querySelector("[data-formset-body]");
    var total = form && form.querySelector("input[name$='-TOTAL_FORMS']");
    var max = form && form.querySelector("input[name$='-MAX_NUM_FORMS']");
    if (!template || !body || !total) return;
    var count = parseInt(total.value, 10) || 0;
    if (max && count >= (parseInt(max.value, 10) || Infinity)) {
      button.disabled = true;
      return;
    }
    var holder = document.createElement("tbody");
    holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(count));
    var row = holder.querySelector("tr");
    var number = row.querySelector("[data-line-number]");
    if (number) number.textContent = String(count + 1);
    body.appendChild(row);
    total.value = String(count + 1);
    var first = row.querySelector("input");
    if (first) first.focus();
  });

  // --- CSV import: show upload progress (htmx sends the file with XHR) ------------------------
  function progressOf(event) {
    var form = event.target.closest ? event.target.closest("form[data-upload-progress]") : null;
    return form ? form.querySelector("progress[data-progress]") : null;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var bar = progressOf(event);
    if (!bar) return;
    bar.value = 0;
    bar.classList.remove("d-none");
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    var bar = progressOf(event);
    if (!bar || !event.detail.lengthComputable) return;
    bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target.closest ? event.target.closest("form[data-upload-progress]") : null;
    if (!form || event.detail.successful) return;
    // A failed upload (network, server error) must leave the form usable again.
    delete form.dataset.submitted;
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
    var bar = form.querySelector("progress[data-progress]");
    if (bar) bar.classList.add("d-none");
  });
})();
