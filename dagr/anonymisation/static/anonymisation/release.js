// The progress bar of a test data release: polls the progress URL until the build ends, then
// reloads the page (which shows the result). A static file, not an inline script: the
// Content-Security-Policy allows scripts from this site only. Without JavaScript the page
// refreshes itself (a <noscript> meta refresh).
(function () {
  var bar = document.getElementById("release-progress"), text = document.getElementById("release-progress-text");
  if (!bar || !text) { return; }
  function poll() {
    fetch(bar.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}}).then(function (r) { return r.json(); }).then(function (d) {
      if (d.finished) { window.location.reload(); return; }
      if (d.total) { bar.max = d.total; bar.value = d.done; }
      text.textContent = d.done + " / " + d.total;
      setTimeout(poll, 1000);
    }).catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
})();
