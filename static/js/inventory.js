// Stock pages: upload progress for the product import, keyboard help for inline safety stock.
(function () {
  "use strict";

  // <form data-upload-progress="id-of-progress-box"> posted by htmx: show how far the upload is.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest ? event.target.closest("form[data-upload-progress]") : null;
    if (!form || !event.detail.lengthComputable) return;
    var box = document.getElementById(form.dataset.uploadProgress);
    if (!box) return;
    var percent = Math.round((event.detail.loaded / event.detail.total) * 100);
    box.hidden = false;
    box.querySelector("progress").value = percent;
    box.querySelector("[data-progress-text]").textContent = percent < 100
      ? "Uploading… " + percent + " %"
      : "Uploaded; checking every row…";
  });

  // A failed upload request (network, server error) must not leave the page looking busy.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target.closest ? event.target.closest("form[data-upload-progress]") : null;
    if (!form || event.detail.successful) return;
    var box = document.getElementById(form.dataset.uploadProgress);
    if (box) box.querySelector("[data-progress-text]").textContent = "The upload failed; try again.";
    delete form.dataset.submitted;
    form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = false; });
  });

  // Escape in an inline safety stock form puts the value back without saving.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var form = event.target.closest ? event.target.closest("form.safety-inline") : null;
    if (!form) return;
    var cancel = form.querySelector("button[type=button][hx-get]");
    if (cancel) cancel.click();
  });
})();
