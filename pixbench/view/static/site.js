/* pixbench site: what every page shares. Data files call pixbench.put(key, document); a page asks for a
   document with pixbench.need(key), which loads data/<key>.js once (a page opened from file:// may run
   scripts but not fetch JSON). No network, no libraries. */
(function () {
  "use strict";
  var documents = {};
  var waiting = {};

  function put(key, value) {
    documents[key] = value;
    (waiting[key] || []).forEach(function (resolve) { resolve(value); });
    delete waiting[key];
  }

  function need(key) {
    if (Object.prototype.hasOwnProperty.call(documents, key)) return Promise.resolve(documents[key]);
    return new Promise(function (resolve, reject) {
      var first = !waiting[key];
      (waiting[key] = waiting[key] || []).push(resolve);
      if (!first) return;
      var script = document.createElement("script");
      script.src = "data/" + key + ".js";
      script.onerror = function () { reject(new Error("no data file data/" + key + ".js")); };
      document.head.appendChild(script);
    });
  }

  /* One decimal, as `pixbench score` prints; "-" for a metric not measured. */
  function fmt(value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) return "-";
    return Number(value).toFixed(digits === undefined ? 1 : digits);
  }

  /* el("a", {href: "x", class: "y"}, "text", child, ...): a new element. */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name.slice(0, 2) === "on") node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    });
    for (var k = 2; k < arguments.length; k++) {
      var child = arguments[k];
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function params() { return new URLSearchParams(window.location.search); }

  function link(page, query) {
    var search = new URLSearchParams();
    Object.keys(query).forEach(function (name) {
      if (query[name] !== null && query[name] !== undefined) search.set(name, query[name]);
    });
    return page + "?" + search.toString();
  }

  /* A table whose header cells sort it (numbers by value, "-" last; published rows below the measured ones),
     remembering the direction. */
  function sortable(table) {
    var headers = table.querySelectorAll("thead th");
    headers.forEach(function (th, column) {
      th.classList.add("sortable");
      th.addEventListener("click", function () {
        var body = table.tBodies[0];
        var descending = th.getAttribute("aria-sort") !== "descending";
        headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) { return compareCells(a.cells[column], b.cells[column], descending); });
        /* a paper's published rows stay below the measured ones (they are not ranked with them) */
        rows.filter(function (row) { return !row.classList.contains("published"); })
          .concat(rows.filter(function (row) { return row.classList.contains("published"); }))
          .forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  function cellValue(cell) {
    if (!cell) return null;
    var raw = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
    if (raw === "" || raw === "-" || raw === "null") return null;
    var number = Number(raw);
    return Number.isNaN(number) ? raw : number;
  }

  function compareCells(a, b, descending) {
    var x = cellValue(a), y = cellValue(b);
    if (x === null && y === null) return 0;
    if (x === null) return 1;
    if (y === null) return -1;
    var order = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y));
    return descending ? -order : order;
  }

  function fail(message) {
    var box = document.getElementById("problem");
    if (box) { box.textContent = message; box.hidden = false; }
  }

  window.pixbench = {put: put, need: need, fmt: fmt, el: el, params: params, link: link, sortable: sortable,
                     fail: fail};
})();
