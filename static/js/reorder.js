// Reorder dashboard: count the ticked suggestions and keep the "select all" box in step with them.
// Selecting all is backstock.js's job (data-select-all); this only reports and mirrors the state.
(function () {
  "use strict";

  var form = document.getElementById("reorder-selection");
  if (!form) return;
  var counter = document.querySelector("[data-ticked-count]");

  function rowBoxes() {
    return document.querySelectorAll('input[type=checkbox][name="levels"][form="reorder-selection"]');
  }

  function update() {
    var boxes = rowBoxes();
    var ticked = 0;
    boxes.forEach(function (box) {
      if (box.checked) ticked += 1;
    });
    if (counter) {
      counter.textContent = ticked === 1 ? "1 row ticked" : ticked + " rows ticked";
    }
    var all = document.querySelector('input[data-select-all="levels"]');
    if (all) {
      all.checked = boxes.length > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input[type=checkbox]")) update();
  });
  // Back/forward navigation restores tick boxes without change events.
  window.addEventListener("pageshow", update);
  update();
})();
