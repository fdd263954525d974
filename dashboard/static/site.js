/* asgi-matrix dashboard: everything works without this file; it only adds filtering,
   the requirements query (?need=a,b), copy buttons and a stale-data check at view time. */
(function () {
  "use strict";
  var CLASS = { pass: "pass", fail: "fail", no: "no", unsupported: "unsup", error: "error", "n/a": "na", flaky: "flaky" };

  function staleCheck() {
    var banner = document.getElementById("stale");
    if (!banner || !banner.hidden) return;
    var measured = Date.parse(banner.getAttribute("data-measured") || "");
    var days = Number(banner.getAttribute("data-days"));
    if (!isNaN(measured) && !isNaN(days) && Date.now() - measured > days * 864e5) banner.hidden = false;
  }

  function copyButtons() {
    document.querySelectorAll("pre.copy").forEach(function (pre) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "copy-button";
      button.textContent = "Copy";
      button.addEventListener("click", function () {
        var text = (pre.querySelector("code") || pre).textContent;  /* not the button's own word */
        var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 1500); };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () { select(pre); });
        } else { select(pre); }
      });
      pre.appendChild(button);
    });
  }

  function select(node) {
    var range = document.createRange();
    range.selectNodeContents(node.querySelector("code") || node);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  function readQuery() {
    var q = new URLSearchParams(location.search);
    return {
      server: q.get("server") || "", python: q.get("python") || "", group: q.get("group") || "",
      status: q.get("status") || "",
      need: (q.get("need") || "").split(",").map(function (s) { return s.trim(); }).filter(Boolean)
    };
  }

  function toQuery(f) {
    var q = new URLSearchParams();
    if (f.server) q.set("server", f.server);
    if (f.python) q.set("python", f.python);
    if (f.group) q.set("group", f.group);
    if (f.status) q.set("status", f.status);
    if (f.need.length) q.set("need", f.need.join(","));
    var text = q.toString().replace(/%2C/g, ",");
    return text ? "?" + text : "";
  }

  function matrix() {
    var form = document.getElementById("filters");
    if (!form) return;
    var tables = Array.prototype.slice.call(document.querySelectorAll("table.matrix"));
    var result = document.getElementById("need-result");
    var titles = {};
    form.querySelectorAll("input[name=need]").forEach(function (box) {
      titles[box.value] = box.parentNode.textContent.trim();
    });
    form.hidden = false;

    function fromForm() {
      var need = [];
      form.querySelectorAll("input[name=need]:checked").forEach(function (box) { need.push(box.value); });
      return { server: form.server.value, python: form.python ? form.python.value : "",
               group: form.group.value, status: form.status.value, need: need };
    }

    function toForm(f) {
      form.server.value = f.server;
      if (form.python) form.python.value = f.python;
      form.group.value = f.group;
      form.status.value = f.status;
      form.querySelectorAll("input[name=need]").forEach(function (box) { box.checked = f.need.indexOf(box.value) >= 0; });
      if (f.need.length) form.querySelector("details.need").open = true;
    }

    function apply(f) {
      var shown = 0, meets = 0, total = 0;
      var wanted = f.status ? CLASS[f.status] : "";
      tables.forEach(function (table) {
        var heads = table.querySelectorAll("tr.props th[data-prop]");
        var props = [], visible = [];
        heads.forEach(function (th) {
          var on = !f.group || th.getAttribute("data-group") === f.group;
          props.push(th.getAttribute("data-prop"));
          visible.push(on);
          th.hidden = !on;
        });
        table.querySelectorAll("tr.groups th[data-group]").forEach(function (th) {
          th.hidden = !!f.group && th.getAttribute("data-group") !== f.group;
        });
        var columns = visible.filter(Boolean).length;
        if (wanted) table.setAttribute("data-focus", f.status); else table.removeAttribute("data-focus");
        table.classList.toggle("needing", f.need.length > 0);
        var tableShown = 0;
        table.querySelectorAll("tbody").forEach(function (body) {
          var serverOk = !f.server || body.getAttribute("data-server") === f.server;
          var bodyShown = 0;
          body.querySelectorAll("tr.config").forEach(function (row) {
            var cells = row.querySelectorAll("td");
            var byProp = {}, hasStatus = false;
            if (cells.length === props.length) {
              cells.forEach(function (td, i) {
                td.hidden = !visible[i];
                byProp[props[i]] = td.classList[0];
                if (visible[i] && td.classList[0] === wanted) hasStatus = true;
              });
            } else if (cells.length === 1) {  /* a configuration that was not measured */
              cells[0].colSpan = columns;
              hasStatus = wanted === "error" && row.getAttribute("data-status") === "error";
            }
            var ok = f.need.length > 0 && f.need.every(function (p) { return byProp[p] === "pass"; });
            total += 1;
            if (ok) meets += 1;
            row.classList.toggle("meets", ok);
            var flag = row.querySelector(".meets-flag");
            if (ok && !flag) {
              flag = document.createElement("span");
              flag.className = "meets-flag";
              flag.textContent = "★ meets your needs";
              row.querySelector("th").appendChild(flag);
            } else if (!ok && flag) { flag.remove(); }
            var pythonOk = !f.python || row.getAttribute("data-python") === f.python;
            var show = serverOk && pythonOk && (!wanted || hasStatus);
            row.hidden = !show;
            if (show) bodyShown += 1;
          });
          body.hidden = bodyShown === 0;
          body.querySelectorAll("tr.server th").forEach(function (th) { th.colSpan = columns + 1; });
          tableShown += bodyShown;
        });
        table.closest("section").hidden = tableShown === 0;
        shown += tableShown;
      });
      document.getElementById("no-match").hidden = shown > 0;
      if (f.need.length) {
        var unknown = f.need.filter(function (p) { return !(p in titles); });
        var names = f.need.map(function (p) { return titles[p] || p; }).join(", ");
        result.textContent = meets + " of " + total + " configurations pass all of: " + names + "." +
          (unknown.length ? " Unknown property id: " + unknown.join(", ") + "." : "");
        result.hidden = false;
      } else {
        result.hidden = true;
        result.textContent = "";
      }
      var query = toQuery(f);
      document.getElementById("permalink").setAttribute("href", "index.html" + query);
      if (location.search !== query) {
        try { history.replaceState(null, "", location.pathname + query); } catch (e) { /* file:// may refuse */ }
      }
    }

    var initial = readQuery();
    toForm(initial);
    apply(initial);
    form.addEventListener("change", function () { apply(fromForm()); });
    form.addEventListener("submit", function (event) { event.preventDefault(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    staleCheck();
    copyButtons();
    matrix();
  });
}());
