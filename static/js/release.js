// Release review: Enter in a box does what that box is for, never a random button.
(function () {
  "use strict";

  // The form has several submit buttons (confirm, move up, put back). The browser would press
  // the first one on Enter; instead Enter in a reason box moves that line up, and Enter in any
  // other box confirms the release.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !event.target.matches) return;
    var input = event.target;
    if (!input.matches("[data-release-form] input")) return;
    var form = input.closest("form");
    event.preventDefault();
    var button;
    if (input.dataset.moveUpReason) {
      button = form.querySelector('[data-move-up="' + input.dataset.moveUpReason + '"]');
    } else {
      button = form.querySelector("[data-release-confirm]");
    }
    if (button && !button.disabled) button.click();
  });

  // Opening a "Move up" row puts the cursor in its reason box.
  document.addEventListener("shown.bs.collapse", function (event) {
    var reason = event.target.querySelector("[data-move-up-reason]");
    if (reason) reason.focus();
  });
})();
