// A connector run's page while it runs: polls the progress URL, updates the counts, appends new
// log lines and reloads the page when the run has finished. A static file, not an inline script:
// the Content-Security-Policy allows scripts from this site only. Without JavaScript the page has
// a plain "Refresh" link.
(function () {
  var table = document.getElementById("run-counts"), log = document.querySelector("#run-log tbody");
  if (!table || !table.dataset.url || !log) { return; }
  function lastId() {
    var rows = log.querySelectorAll("tr[data-id]");
    return rows.length ? rows[rows.length - 1].dataset.id : "0";
  }
  function poll() {
    fetch(table.dataset.url + "?after=" + lastId(), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (d) {
        if (d.finished) { window.location.reload(); return; }
        table.querySelectorAll("[data-count]").forEach(function (cell) { cell.textContent = d[cell.dataset.count]; });
        d.lines.forEach(function (line) {
          var tr = document.createElement("tr");
          tr.dataset.id = line.id;
          tr.className = "log-" + line.level;
          [line.at, line.level, line.message, ""].forEach(function (text) {
            var td = document.createElement("td");
            td.textContent = text;
            tr.appendChild(td);
          });
          log.appendChild(tr);
        });
        setTimeout(poll, 1500);
      })
      .catch(function () { setTimeout(poll, 4000); });
  }
  setTimeout(poll, 1500);
})();
