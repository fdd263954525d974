/* asgi-matrix history pages: compare any two releases of one server. The page works without
   this file (the oldest and newest releases measured are compared already, and every pair of
   consecutive releases is listed); the data comes from the page's embedded JSON and is only
   ever set as text, never as markup. */
(function () {
  "use strict";
  var CLASS = { pass: "pass", fail: "fail", unsupported: "unsup", error: "error", "n/a": "na", flaky: "flaky" };

  function chip(status, glyphs) {
    var span = document.createElement("span");
    if (status === null || status === undefined) {
      span.className = "st none";
      span.textContent = "· no verdict";
    } else {
      span.className = "st " + (CLASS[status] || "none");
      span.textContent = (glyphs[status] || "?") + " " + status;
    }
    return span;
  }

  function compare() {
    var form = document.getElementById("history-compare");
    var source = document.getElementById("history-data");
    var table = document.getElementById("history-diff");
    if (!form || !source || !table) return;
    var data = JSON.parse(source.textContent);
    var title = document.getElementById("history-compare-title");
    form.hidden = false;

    function update() {
      var oldV = form.old.value, newV = form.new.value;
      var i = data.versions.indexOf(oldV), j = data.versions.indexOf(newV);
      var body = table.querySelector("tbody");
      while (body.firstChild) body.removeChild(body.firstChild);
      var count = 0;
      data.order.forEach(function (pid) {
        var prop = data.properties[pid];
        var a = prop.statuses[i], b = prop.statuses[j];
        if (a === b) return;
        count += 1;
        var tr = document.createElement("tr");
        var th = document.createElement("th");
        th.scope = "row";
        th.textContent = prop.title;
        var small = document.createElement("small");
        var code = document.createElement("code");
        code.textContent = pid;
        small.appendChild(code);
        th.appendChild(small);
        tr.appendChild(th);
        [a, b].forEach(function (status) {
          var td = document.createElement("td");
          td.appendChild(chip(status, data.glyphs));
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      document.getElementById("history-diff-old").textContent = oldV;
      document.getElementById("history-diff-new").textContent = newV;
      title.textContent = "";
      var strongA = document.createElement("strong");
      strongA.textContent = oldV;
      var strongB = document.createElement("strong");
      strongB.textContent = newV;
      title.appendChild(strongA);
      title.appendChild(document.createTextNode(" → "));
      title.appendChild(strongB);
      title.appendChild(document.createTextNode(": " + count + (count === 1 ? " property differs." : " properties differ.")));
    }

    form.addEventListener("change", update);
    form.addEventListener("submit", function (event) { event.preventDefault(); });
  }

  document.addEventListener("DOMContentLoaded", compare);
}());
