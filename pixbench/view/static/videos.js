/* The expressions of a video benchmark for one model: a table with the model's J&F on every probe it shows
   (static: FPR), filtered (words, a column's range, a reversed form, a line missing, and each tag the rows carry,
   such as a target kind or type), sorted by any column, in pages; thumbnails load lazily. An expression a protocol
   dropped is marked in its column. The filtered order is remembered so that an expression page's previous/next
   follow it. */
(function () {
  "use strict";
  var P = pixbench, query = P.params(), benchmark = query.get("b");
  var $ = function (id) { return document.getElementById(id); };
  var state = {rows: [], shown: [], columns: [], page: 0, size: 48, key: null, sort: "order", descending: false,
               tags: []};

  /* A column's value of a row in % (null: not scored). */
  function value(row, key) {
    var v = row.values[key];
    return v === undefined || v === null ? null : 100 * v;
  }

  function selected(row) {
    var words = $("search").value.trim().toLowerCase();
    if (words) {
      var text = (row.id + " " + row.expression + " " + (row.reversed || "") + " " + tagValues(row)).toLowerCase();
      if (!words.split(/\s+/).every(function (word) { return text.indexOf(word) >= 0; })) return false;
    }
    if ($("with-reversed").checked && !row.reversed) return false;
    if ($("with-missing").checked && !row.missing.length) return false;
    for (var n = 0; n < state.tags.length; n++) {
      var wanted = state.tags[n].select.value;
      if (wanted && (row.tags || {})[state.tags[n].name] !== wanted) return false;
    }
    var low = Number($("low").value), high = Number($("high").value);
    if (low > 0 || high < 100) {
      var v = value(row, $("column").value);
      if (v === null || v < low || v > high) return false;
    }
    return true;
  }

  function tagValues(row) {
    return Object.keys(row.tags || {}).map(function (name) { return row.tags[name]; }).join(" ");
  }

  /* A select per tag the rows carry (its values in first-seen order), kept across models where still offered. */
  function tagFilters() {
    var before = {};
    state.tags.forEach(function (tag) { before[tag.name] = tag.select.value; tag.label.remove(); });
    var values = {};
    state.rows.forEach(function (row) {
      Object.keys(row.tags || {}).forEach(function (name) {
        var seen = values[name] = values[name] || [];
        if (seen.indexOf(row.tags[name]) < 0) seen.push(row.tags[name]);
      });
    });
    var anchor = $("with-reversed").parentNode;
    state.tags = Object.keys(values).map(function (name) {
      var select = P.el("select", {"data-tag": name}, P.el("option", {value: "", text: "any"}));
      values[name].forEach(function (value) { select.appendChild(P.el("option", {value: value, text: value})); });
      if (values[name].indexOf(before[name]) >= 0) select.value = before[name];
      select.addEventListener("change", function () { state.page = 0; apply(); });
      var label = P.el("label", {}, name + " ", select);
      anchor.parentNode.insertBefore(label, anchor);
      return {name: name, select: select, label: label};
    });
    /* a benchmark whose expressions have no reversed form (its rows say nothing of one) */
    anchor.hidden = !state.rows.some(function (row) { return "reversed" in row; });
  }

  function compare(a, b) {
    var key = state.sort, sign = state.descending ? -1 : 1;
    if (key === "order") return sign * (a.order - b.order);
    if (key === "id" || key === "expression") return sign * String(a[key]).localeCompare(String(b[key])) || a.order - b.order;
    var x = value(a, key), y = value(b, key);
    if (x === null) return y === null ? a.order - b.order : 1;
    if (y === null) return -1;
    return sign * (x - y) || a.order - b.order;
  }

  function apply() {
    state.shown = state.rows.filter(selected);
    state.shown.sort(compare);
    try {
      sessionStorage.setItem("pixbench:order:" + benchmark, JSON.stringify(state.shown.map(function (r) { return r.id; })));
    } catch (e) { /* storage may be off for file:// pages: previous/next then follow the expressions' order */ }
    state.page = Math.min(state.page, Math.max(0, Math.ceil(state.shown.length / state.size) - 1));
    $("count").textContent = String(state.shown.length);
    draw();
  }

  function header() {
    var head = $("head");
    head.textContent = "";
    var names = [["", null], ["id", "id"], ["expression", "expression"]].concat(
      state.columns.map(function (c) { return [c.header, c.key]; }));
    names.forEach(function (pair) {
      var th = P.el("th", {scope: "col", class: pair[1] && pair[1] !== "id" && pair[1] !== "expression" ? "metric" : "label",
                           text: pair[0]});
      if (pair[1]) {
        th.classList.add("sortable");
        th.setAttribute("data-sort", pair[1]);
        if (state.sort === pair[1]) th.setAttribute("aria-sort", state.descending ? "descending" : "ascending");
        th.addEventListener("click", function () {
          state.descending = state.sort === pair[1] ? !state.descending : false;
          state.sort = pair[1];
          header();
          apply();
        });
      }
      head.appendChild(th);
    });
  }

  function line(row) {
    var href = P.link("video.html", {b: benchmark, id: row.id, m: state.key});
    var thumb = P.el("span", {class: "stage"},
                     P.el("img", {src: row.thumb, alt: "expression " + row.id, loading: "lazy"}),
                     P.el("img", {class: "layer", src: row.gt_thumb, alt: "", loading: "lazy", style: "filter:url(#line-gt)"}));
    var cells = [P.el("td", {class: "thumb"}, P.el("a", {href: href, tabindex: "-1"}, thumb)),
                 P.el("td", {class: "label"}, P.el("a", {href: href, text: row.id})),
                 P.el("td", {class: "expression"}, row.expression,
                      row.reversed ? P.el("span", {class: "muted", text: "reversed: " + row.reversed}) : null,
                      row.tags ? P.el("span", {class: "tags", text: Object.keys(row.tags).map(function (name) {
                        return name + ": " + row.tags[name]; }).join(" · ")}) : null)];
    state.columns.forEach(function (c) {
      var v = value(row, c.key), missing = row.missing.indexOf(c.key) >= 0;
      var dropped = (row.dropped || []).indexOf(c.key) >= 0;
      cells.push(P.el("td", {"data-value": v === null ? "null" : String(v),
                             class: dropped ? "dropped" : missing ? "wrong" : null,
                             title: dropped ? "no line: dropped, left out of every mean" :
                               missing ? "no line: scored as missing" : null,
                             text: dropped ? "dropped" : v === null ? "" : P.fmt(v)}));
    });
    var tr = P.el("tr", {"data-id": row.id, class: row.missing.length ? "missing" : null});
    cells.forEach(function (cell) { tr.appendChild(cell); });
    return tr;
  }

  function draw() {
    var body = $("rows");
    body.textContent = "";
    var start = state.page * state.size;
    state.shown.slice(start, start + state.size).forEach(function (row) { body.appendChild(line(row)); });
    var pages = Math.max(1, Math.ceil(state.shown.length / state.size));
    $("page").textContent = "page " + (state.page + 1) + " of " + pages;
    $("previous").disabled = state.page === 0;
    $("next").disabled = state.page >= pages - 1;
  }

  function load(key) {
    state.key = key;
    return P.need(benchmark + "/grid-" + key).then(function (doc) {
      state.rows = doc.rows.map(function (row, k) { row.order = k; return row; });
      state.size = doc.page_size;
      columns(doc.columns);
      tagFilters();
      $("total").textContent = String(doc.rows.length);
      apply();
    });
  }

  /* The model's columns (where one model answers one probe, those it was scored on) and the range's choice. */
  function columns(list) {
    var chosen = $("column").value;
    state.columns = list;
    if (!list.some(function (c) { return c.key === state.sort; }) && ["order", "id", "expression"].indexOf(state.sort) < 0) {
      state.sort = "order";
      state.descending = false;
    }
    $("column").textContent = "";
    list.forEach(function (c) { $("column").appendChild(P.el("option", {value: c.key, text: c.header})); });
    if (list.some(function (c) { return c.key === chosen; })) $("column").value = chosen;
    header();
  }

  P.need(benchmark + "/models").then(function (doc) {
    $("heading").textContent = doc.display_name + " expressions";
    document.title = doc.display_name + " expressions";
    doc.models.forEach(function (m) { $("model").appendChild(P.el("option", {value: m.key, text: m.model})); });
    var wanted = query.get("m");
    var key = doc.models.some(function (m) { return m.key === wanted; }) ? wanted : doc.models[0].key;
    $("model").value = key;
    return load(key);
  }).catch(function (error) { P.fail(String(error.message || error)); });

  $("model").addEventListener("change", function () { load($("model").value); });
  ["search", "column", "low", "high", "with-reversed", "with-missing"].forEach(function (id) {
    $(id).addEventListener(id === "search" ? "input" : "change", function () { state.page = 0; apply(); });
  });
  $("previous").addEventListener("click", function () { state.page -= 1; draw(); });
  $("next").addEventListener("click", function () { state.page += 1; draw(); });
  document.addEventListener("keydown", function (event) {
    if (event.target.tagName === "INPUT" || event.target.tagName === "SELECT") return;
    if (event.key === "ArrowRight" && !$("next").disabled) { state.page += 1; draw(); }
    if (event.key === "ArrowLeft" && !$("previous").disabled) { state.page -= 1; draw(); }
  });
})();
