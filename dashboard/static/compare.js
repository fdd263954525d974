/* asgi-matrix: compare.html?a=ID&b=ID, computed from the data embedded in the page.
   Only textContent and attributes built from our own file names are set: nothing from
   the results document is parsed as markup. */
(function () {
  "use strict";
  var WORDS = {};  /* the one vocabulary, from the page's data (words.py) */

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function link(href, text) {
    var a = el("a", text);
    a.setAttribute("href", href);
    return a;
  }

  function statusCell(data, configId, pid, status) {
    if (status === undefined) return el("td", "\u00b7 no verdict", "none");
    var word = WORDS[status] || { glyph: "?", word: status, css: "none" };
    var td = el("td", null, word.css);
    var prop = data.properties[pid], slug = data.configs[configId].slug;
    var href = prop.pattern ? "patterns/" + prop.pattern + "/" + slug + ".html"
                            : "cells/" + slug + "/" + prop.slug + ".html";
    td.appendChild(link(href, word.glyph + " " + word.word));
    return td;
  }

  function header(data, id) {
    var config = data.configs[id];
    var th = el("th");
    th.setAttribute("scope", "col");
    th.appendChild(link("configs/" + config.slug + ".html", id));
    th.appendChild(el("small", config.server + (config.version ? " " + config.version : "") +
      (config.status !== "measured" ? " \u00b7 " + config.status : "")));
    return th;
  }

  function part(title) {
    var tr = el("tr", null, "part");
    var th = el("th", title);
    th.setAttribute("scope", "rowgroup");
    th.colSpan = 3;
    tr.appendChild(th);
    return tr;
  }

  function compare(data, a, b) {
    var rows = [];
    data.order.forEach(function (pid) {
      var sa = data.configs[a].verdicts[pid], sb = data.configs[b].verdicts[pid];
      if (sa === undefined && sb === undefined) return;
      rows.push({ pid: pid, a: sa, b: sb, differs: sa !== sb });
    });
    var differ = rows.filter(function (r) { return r.differs; });
    var same = rows.filter(function (r) { return !r.differs; });
    var out = document.createDocumentFragment();
    var h = el("h2", a + " and " + b);
    out.appendChild(h);
    var count = el("p", null, "compare-count");
    count.appendChild(el("strong", differ.length + " difference" + (differ.length === 1 ? "" : "s")));
    count.appendChild(document.createTextNode(", " + same.length + " the same."));
    out.appendChild(count);
    var wrap = el("div", null, "table-wrap");
    var table = el("table", null, "data compare");
    var head = el("thead"), tr = el("tr"), corner = el("th", "property");
    corner.setAttribute("scope", "col");
    tr.appendChild(corner);
    tr.appendChild(header(data, a));
    tr.appendChild(header(data, b));
    head.appendChild(tr);
    table.appendChild(head);
    var body = el("tbody");
    [[differ, "Different"], [same, "The same in both"]].forEach(function (pair) {
      if (!pair[0].length) return;
      body.appendChild(part(pair[1]));
      pair[0].forEach(function (r) {
        var row = el("tr", null, r.differs ? "differs" : "same");
        var prop = data.properties[r.pid];
        var th = el("th", prop.title);
        th.setAttribute("scope", "row");
        th.appendChild(el("small", r.pid + (prop.level ? " \u00b7 " + prop.level : "")));
        row.appendChild(th);
        row.appendChild(statusCell(data, a, r.pid, r.a));
        row.appendChild(statusCell(data, b, r.pid, r.b));
        body.appendChild(row);
      });
    });
    table.appendChild(body);
    wrap.appendChild(table);
    out.appendChild(wrap);
    return out;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var source = document.getElementById("compare-data");
    var form = document.getElementById("compare-form");
    var result = document.getElementById("compare-result");
    var status = document.getElementById("compare-status");
    if (!source || !form || !result) return;
    var data = JSON.parse(source.textContent);
    WORDS = data.vocabulary || {};
    var q = new URLSearchParams(location.search);
    var a = q.get("a"), b = q.get("b");
    if (!a && !b) {
      if (data["default"] && data["default"].length === 2) {  /* open on a meaningful pair */
        a = data["default"][0];
        b = data["default"][1];
        status.textContent = "The two servers that differ most: choose any others below.";
        form.a.value = a;
        form.b.value = b;
        result.appendChild(compare(data, a, b));
        return;
      }
      status.textContent = "Choose two configurations.";
      return;
    }
    if (a && !b && a in data.configs) {  /* from a configuration page: it is the first */
      form.a.value = a;
      status.textContent = "Choose the configuration to compare " + a + " with.";
      form.b.focus();
      return;
    }
    var unknown = [a, b].filter(function (id) { return !id || !(id in data.configs); });
    if (unknown.length) {
      status.textContent = "Not in this run: " + unknown.map(function (id) { return id ? "\u201c" + id + "\u201d" : "(none given)"; }).join(", ") + ". Choose from the lists.";
      return;
    }
    form.a.value = a;
    form.b.value = b;
    document.title = a + " and " + b + " \u00b7 asgi-matrix";
    status.textContent = "";
    result.appendChild(compare(data, a, b));
  });
}());
