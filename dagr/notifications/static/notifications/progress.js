// Reload the newsletter's progress fragment every two seconds while it is being sent; the page
// shows the same numbers without JavaScript (reload it).
(function () {
  "use strict";
  var box = document.getElementById("progress-box");
  if (!box || !box.dataset.live || !window.fetch) {
    return;
  }
  function refresh() {
    fetch(box.dataset.progressUrl, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var template = document.createElement("template");
        template.innerHTML = html;
        var fresh = template.content.getElementById("newsletter-progress");
        var old = document.getElementById("newsletter-progress");
        if (fresh && old) { old.replaceWith(fresh); }
        if (fresh && /badge-(sent)\b/.test(fresh.innerHTML)) { return; }
        window.setTimeout(refresh, 2000);
      });
  }
  window.setTimeout(refresh, 2000);
})();
