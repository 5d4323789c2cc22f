// The load progress bar of an upload's page: polls the progress URL until the load ends, then
// reloads the page. A static file, not an inline script: the Content-Security-Policy allows
// scripts from this site only.
(function () {
  var bar = document.getElementById("load-progress"), text = document.getElementById("load-progress-text");
  if (!bar || !text) { return; }
  var waiting = {"uploaded": true, "queued": true, "loading": true};
  function poll() {
    fetch(bar.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}}).then(function (r) { return r.json(); }).then(function (d) {
      if (!waiting[d.status]) { window.location.reload(); return; }
      if (d.total) { bar.max = d.total; bar.value = d.done; text.textContent = d.done + " / " + d.total; }
      else { text.textContent = String(d.done); }
      setTimeout(poll, 1000);
    }).catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
})();
