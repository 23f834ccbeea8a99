/* The samples grid of one benchmark and model: filters, sorting, pages; the filtered order is remembered so
   that a sample page's previous/next follow it. */
(function () {
  "use strict";
  var P = pixbench, query = P.params(), benchmark = query.get("b");
  var state = {rows: [], shown: [], page: 0, size: 48, key: null};
  var $ = function (id) { return document.getElementById(id); };

  function selected(row) {
    var letter = $("letter").value, verdict = $("verdict").value, category = $("category").value;
    if (letter === "right" && row.letter !== true) return false;
    if (letter === "wrong" && row.letter !== false) return false;
    if (letter === "none" && row.letter !== null && row.letter !== undefined) return false;
    if (verdict && String(row.verdict) !== verdict) return false;
    if (category && row.category !== category) return false;
    var low = Number($("iou-min").value), high = Number($("iou-max").value);
    var iou = mainIou(row);
    if ((low > 0 || high < 100) && (iou === null || iou < low || iou > high)) return false;
    var groups = document.querySelectorAll("#group-filters select");
    for (var k = 0; k < groups.length; k++) {
      var want = groups[k].value;
      if (want && String(row.groups[groups[k].getAttribute("data-group")]) !== want) return false;
    }
    return true;
  }

  /* The value a grid column sorts by: IoU, the letter's or the judge's outcome (wrong first), the category,
     or one of the benchmark's groups ("group:<name>"). */
  function sortKey(name) {
    if (name === "iou") return mainIou;
    if (name === "letter" || name === "judged") {
      return function (row) { var v = row[name]; return v === null || v === undefined ? null : (v ? 1 : 0); };
    }
    if (name === "category") return function (row) { return row.category || null; };
    var group = name.slice("group:".length);
    return function (row) {
      var v = row.groups[group];
      return v === null || v === undefined ? null : (typeof v === "number" ? v : String(v));
    };
  }

  function mainIou(row) {
    var value = row.iou.segment !== undefined ? row.iou.segment : row.iou.vqa;
    return value === undefined ? null : value;
  }

  function apply() {
    state.shown = state.rows.filter(selected);
    var sort = $("sort").value;
    if (sort !== "id") {
      var descending = sort.charAt(0) === "-", key = sortKey(descending ? sort.slice(1) : sort);
      state.shown.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === null) return y === null ? a.id - b.id : 1;  /* not measured: last */
        if (y === null) return -1;
        var order = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y));
        return (descending ? -order : order) || a.id - b.id;
      });
    }
    try {
      sessionStorage.setItem("pixbench:order:" + benchmark, JSON.stringify(state.shown.map(function (r) { return r.id; })));
    } catch (e) { /* storage may be off for file:// pages: previous/next then follow the ids */ }
    state.page = Math.min(state.page, Math.max(0, Math.ceil(state.shown.length / state.size) - 1));
    $("count").textContent = String(state.shown.length);
    draw();
  }

  function badge(value, right, wrong) {
    if (value === true) return P.el("span", {class: "right", text: right});
    if (value === false) return P.el("span", {class: "wrong", text: wrong});
    return null;
  }

  function card(row) {
    var stage = P.el("div", {class: "stage"}, P.el("img", {src: "media/" + benchmark + "/" + row.id + "/thumb.webp",
                                                          alt: "row " + row.id, loading: "lazy"}));
    if (row.mask) {
      stage.appendChild(P.el("img", {class: "layer", src: row.mask, alt: "", loading: "lazy",
                                     style: "filter:url(#line-pred)"}));
    }
    var iou = mainIou(row);
    var caption = P.el("div", {class: "caption"}, P.el("strong", {text: "#" + row.id}), " ",
                       badge(row.letter, "letter ✓", "letter ✗"), " ",
                       row.verdict ? P.el("span", {class: row.judged ? "right" : "wrong", text: "judge " + row.verdict}) : null,
                       " ", iou === null ? null : P.el("span", {text: "IoU " + P.fmt(iou)}),
                       row.expression ? P.el("div", {class: "muted", text: row.expression}) : null);
    return P.el("a", {class: "card", href: P.link("sample.html", {b: benchmark, id: row.id, m: state.key}),
                      "data-id": row.id}, stage, caption);
  }

  function draw() {
    var grid = $("grid");
    grid.textContent = "";
    var start = state.page * state.size;
    state.shown.slice(start, start + state.size).forEach(function (row) { grid.appendChild(card(row)); });
    var pages = Math.max(1, Math.ceil(state.shown.length / state.size));
    $("page").textContent = "page " + (state.page + 1) + " of " + pages;
    $("previous").disabled = state.page === 0;
    $("next").disabled = state.page >= pages - 1;
  }

  function options(select, values) {
    values.forEach(function (value) { select.appendChild(P.el("option", {value: String(value), text: String(value)})); });
  }

  function load(key) {
    state.key = key;
    return P.need(benchmark + "/grid-" + key).then(function (doc) {
      state.rows = doc.rows;
      state.size = doc.page_size;
      $("total").textContent = String(doc.rows.length);
      var verdicts = {}, categories = {};
      doc.rows.forEach(function (r) { if (r.verdict) verdicts[r.verdict] = 1; if (r.category) categories[r.category] = 1; });
      ["verdict", "category"].forEach(function (id) {
        var select = $(id), keep = select.value;
        while (select.options.length > 1) select.remove(1);
        options(select, Object.keys(id === "verdict" ? verdicts : categories).sort());
        select.value = keep;
      });
      apply();
    });
  }

  P.need(benchmark + "/models").then(function (doc) {
    $("heading").textContent = doc.display_name + " samples";
    document.title = doc.display_name + " samples";
    doc.models.forEach(function (m) { $("model").appendChild(P.el("option", {value: m.key, text: m.model})); });
    var holder = $("group-filters");
    doc.groups.forEach(function (name) {
      $("sort").appendChild(P.el("option", {value: "group:" + name, text: name}));
      var select = P.el("select", {"data-group": name}, P.el("option", {value: "", text: "any"}));
      holder.appendChild(P.el("label", {}, name + " ", select));
      select.addEventListener("change", function () { state.page = 0; apply(); });
    });
    if (doc.models.length > 1) {
      var link = $("compare-link");
      link.href = P.link("compare.html", {b: benchmark, a: doc.models[0].key, c: doc.models[1].key});
      link.hidden = false;
    }
    var wanted = query.get("m");
    var key = doc.models.some(function (m) { return m.key === wanted; }) ? wanted : doc.models[0].key;
    $("model").value = key;
    return load(key).then(function () {
      holder.querySelectorAll("select").forEach(function (select) {
        var values = {};
        state.rows.forEach(function (r) {
          var v = r.groups[select.getAttribute("data-group")];
          if (v !== null && v !== undefined) values[v] = 1;
        });
        options(select, Object.keys(values).sort(function (a, b) { return (Number(a) - Number(b)) || a.localeCompare(b); }));
      });
    });
  }).catch(function (error) { P.fail(String(error.message || error)); });

  $("model").addEventListener("change", function () { load($("model").value); });
  ["letter", "verdict", "category", "sort", "iou-min", "iou-max"].forEach(function (id) {
    $(id).addEventListener("change", function () { state.page = 0; apply(); });
  });
  $("previous").addEventListener("click", function () { state.page -= 1; draw(); });
  $("next").addEventListener("click", function () { state.page += 1; draw(); });
  document.addEventListener("keydown", function (event) {
    if (event.target.tagName === "INPUT" || event.target.tagName === "SELECT") return;
    if (event.key === "ArrowRight" && !$("next").disabled) { state.page += 1; draw(); }
    if (event.key === "ArrowLeft" && !$("previous").disabled) { state.page -= 1; draw(); }
  });
})();
