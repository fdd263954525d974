/* asgi-matrix dashboard: everything works without this file; it only adds the app
   picker (?app=ID: one framework's section instead of all), filtering, the requirements
   query (?need=a,b, read together with the app), copy buttons and a stale-data check. */
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

  /* the app a visitor picked: one value shared by the app picker and the matrix filter */
  var appListeners = [];
  function setApp(id, from) {
    appListeners.forEach(function (listener) { if (listener !== from) listener(id); });
  }

  function apps() {
    var form = document.getElementById("app-form");
    if (!form) return;
    var select = form.querySelector("select");
    var sections = Array.prototype.slice.call(document.querySelectorAll("section.app"));
    var known = sections.map(function (s) { return s.getAttribute("data-app"); });
    function show(id) {
      if (known.indexOf(id) < 0) id = known[0];
      sections.forEach(function (s) { s.hidden = s.getAttribute("data-app") !== id; });
      select.value = id;
      return id;
    }
    function fromHash() {
      var hash = decodeURIComponent(location.hash.slice(1));
      var found = sections.filter(function (s) { return s.id === hash; })[0];
      return found ? found.getAttribute("data-app") : "";
    }
    form.hidden = false;
    var initial = fromHash() || new URLSearchParams(location.search).get("app") || "";
    show(initial);
    function picked(id) {
      id = show(id);
      var q = new URLSearchParams(location.search);
      q.set("app", id);
      try { history.replaceState(null, "", location.pathname + "?" + q.toString().replace(/%2C/g, ",")); } catch (e) { /* file:// may refuse */ }
    }
    appListeners.push(function (id) { if (id) show(id); });
    select.addEventListener("change", function () { picked(select.value); setApp(select.value, null); });
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    window.addEventListener("hashchange", function () {
      var id = fromHash();
      if (id) { picked(id); setApp(id, null); }
    });
  }

  function readQuery() {
    var q = new URLSearchParams(location.search);
    return {
      app: q.get("app") || "",
      server: q.get("server") || "", python: q.get("python") || "", group: q.get("group") || "",
      status: q.get("status") || "",
      need: (q.get("need") || "").split(",").map(function (s) { return s.trim(); }).filter(Boolean)
    };
  }

  function toQuery(f) {
    var q = new URLSearchParams();
    if (f.app) q.set("app", f.app);
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
      return { app: form.app ? form.app.value : "", server: form.server.value, python: form.python ? form.python.value : "",
               group: form.group.value, status: form.status.value, need: need };
    }

    function toForm(f) {
      if (form.app) form.app.value = f.app;
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
            /* one truth: a configuration meets your needs only where your app does not
               break (works, or works with a caveat) */
            var appStatus = "";
            (row.getAttribute("data-apps") || "").split(" ").forEach(function (pair) {
              var cut = pair.lastIndexOf("=");
              if (cut > 0 && pair.slice(0, cut) === f.app) appStatus = pair.slice(cut + 1);
            });
            var appOk = !f.app || appStatus === "works" || appStatus === "caveat";
            var ok = (f.need.length > 0 || !!f.app) && appOk &&
              f.need.every(function (p) { return byProp[p] === "pass"; });
            total += 1;
            if (ok) meets += 1;
            row.classList.toggle("meets", ok);
            var flag = row.querySelector(".meets-flag");
            if (ok && !flag) {
              flag = document.createElement("span");
              flag.className = "meets-flag";
              row.querySelector("th").appendChild(flag);
            }
            if (ok) {
              flag.textContent = appStatus === "caveat" ? "★ meets your needs, with a caveat" : "★ meets your needs";
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
      if (f.need.length || f.app) {
        var unknown = f.need.filter(function (p) { return !(p in titles); });
        var names = f.need.map(function (p) { return titles[p] || p; });
        if (f.app && form.app) {
          var option = form.app.querySelector("option[value='" + CSS.escape(f.app) + "']");
          names.unshift("your app (" + (option ? option.textContent : f.app) + ") does not break");
        }
        names = names.join(", ");
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
    if (!initial.app) {  /* the app picked above is the app the needs are read with */
      var picker = document.getElementById("app-select");
      if (picker && picker.value && new URLSearchParams(location.search).get("app")) initial.app = picker.value;
    }
    toForm(initial);
    apply(initial);
    appListeners.push(function (id) { if (form.app) { form.app.value = id; apply(fromForm()); } });
    form.addEventListener("change", function (event) {
      var f = fromForm();
      apply(f);
      if (event.target === form.app && f.app) setApp(f.app, null);
    });
    form.addEventListener("submit", function (event) { event.preventDefault(); });
  }

  document.documentElement.classList.add("js");
  document.addEventListener("DOMContentLoaded", function () {
    apps();
    staleCheck();
    copyButtons();
    matrix();
  });
}());
