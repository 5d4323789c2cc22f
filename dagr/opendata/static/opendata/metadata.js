// Validation as you type on the open data description form: after a pause in typing, the
// form's values are posted to the validation URL (nothing is saved) and each finding is shown
// under its field; the quality score and the "can be published" line follow. A static file, not
// an inline script: the Content-Security-Policy allows scripts from this site only. Without
// JavaScript the same findings appear after "Save".
(function () {
  var form = document.getElementById("od-form");
  if (!form || !window.fetch) { return; }
  var timer = null, seq = 0;
  function render(list, items) {
    list.textContent = "";
    (items || []).forEach(function (item) {
      var li = document.createElement("li");
      li.className = "finding finding-" + item.severity;
      li.textContent = item.text;
      list.appendChild(li);
    });
  }
  function apply(data, mine) {
    if (mine !== seq) { return; }  // an older answer arriving late
    var lists = document.querySelectorAll("ul.findings[id^='check-']");
    Array.prototype.forEach.call(lists, function (list) {
      var name = list.id.slice(6);
      render(list, data.fields[name]);
      var input = form.elements[name];
      if (input && input.setAttribute && !input.length) {
        var bad = (data.fields[name] || []).some(function (i) { return i.severity === "violation"; });
        if (bad) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
      }
    });
    var state = document.getElementById("od-publishable");
    if (state) { state.textContent = data.publishable ? state.dataset.yes : state.dataset.no; }
    if (data.score) {
      document.getElementById("od-score").textContent = data.score.total;
      document.getElementById("od-rating").textContent = data.score.rating;
    }
  }
  function check() {
    var mine = ++seq;
    fetch(form.dataset.validateUrl, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRFToken": form.elements.csrfmiddlewaretoken.value}
    }).then(function (r) { return r.json(); }).then(function (d) { apply(d, mine); }).catch(function () {});
  }
  function later() { clearTimeout(timer); timer = setTimeout(check, 600); }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
