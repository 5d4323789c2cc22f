// Live preview of a help article: a moment after each edit, submit the form to the preview
// frame through its "Preview" button (the same request the button makes without JavaScript).
// No inline script, so the strict CSP holds.
(function () {
  "use strict";
  var form = document.getElementById("article-form");
  var button = document.getElementById("preview-button");
  if (!form || !button || !form.requestSubmit) {
    return;
  }
  var timer = null;
  function preview() {
    form.requestSubmit(button);
  }
  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(preview, 400);
  });
  preview();
})();
