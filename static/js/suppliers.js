// Purchasing pages: add purchase order lines without a round trip to the server.
(function () {
  "use strict";

  // <button data-add-line="tbody-id" data-template="template-id" data-prefix="lines">: clone the
  // formset's empty row, number it, and tell the management form there is one more line.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-add-line]") : null;
    if (!button) return;
    event.preventDefault();
    var body = document.getElementById(button.dataset.addLine);
    var template = document.getElementById(button.dataset.template);
    var total = document.querySelector('input[name="' + button.dataset.prefix + '-TOTAL_FORMS"]');
    var max = document.querySelector('input[name="' + button.dataset.prefix + '-MAX_NUM_FORMS"]');
    if (!body || !template || !total) return;
    var index = parseInt(total.value, 10) || 0;
    if (max && index >= parseInt(max.value, 10)) return;
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    body.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    var first = body.lastElementChild && body.lastElementChild.querySelector("input");
    if (first) first.focus();
  });
})();
