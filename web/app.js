// consentform serve: the one script. It holds no logic of the forms: it only keeps a barcode
// scanner's Enter from submitting a half-filled form, and opens PDFs in a new tab.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // A USB barcode scanner types the hospital number and presses Enter. In a field marked
  // data-scan, Enter moves to the next field instead of submitting the form.
  document.querySelectorAll("input[data-scan]").forEach(function (input) {
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      event.preventDefault();
      var fields = Array.prototype.filter.call(
        input.form.elements,
        function (e) { return !e.disabled && e.type !== "hidden" && e.tabIndex >= 0; });
      var next = fields[fields.indexOf(input) + 1];
      if (next) next.focus();
    });
  });
  // Print buttons of printable lists.
  document.querySelectorAll("button[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
});
