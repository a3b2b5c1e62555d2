// Progressive enhancement only: every page works without this file.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  // Ask before destructive posts (delete, remove); without JavaScript they simply go through.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });

  // After a failed submit, move focus to the summary so screen readers announce it.
  var alert = document.getElementById("form-errors");
  if (alert) {
    alert.focus();
  }
});
