/* Two models on one benchmark: the rows where they differ (letter, verdict, IoU beyond the site's gap), each
   with both models' masks over the image, a page at a time (previous/next, also with the arrow keys). */
(function () {
  "use strict";
  var P = pixbench, query = P.params(), benchmark = query.get("b");
  var $ = function (id) { return document.getElementById(id); };
  var doc = null, shown = null, page = 0;

  function style() { return document.querySelector("input[name=style]:checked").value; }

  function outcome(r) {
    var parts = [];
    if (r.letter !== null && r.letter !== undefined) parts.push("letter " + (r.letter ? "✓" : "✗"));
    if (r.verdict) parts.push("judge " + r.verdict);
    var iou = r.iou.segment !== undefined ? r.iou.segment : r.iou.vqa;
    if (iou !== undefined && iou !== null) parts.push("IoU " + P.fmt(iou));
    return parts.join(" · ");
  }

  function draw(pair, swapped) {
    shown = {pair: pair, swapped: swapped};
    var grid = $("grid");
    grid.textContent = "";
    var a = swapped ? pair.c : pair.a, c = swapped ? pair.a : pair.c;
    $("summary").textContent = pair.rows.length + " sample(s) where " + a.model + " and " + c.model +
      " differ (letter, verdict, or IoU by more than " + P.fmt(pair.iou_gap * 100, 0) + " points)";
    var size = pair.page_size || 48, pages = Math.max(1, Math.ceil(pair.rows.length / size));
    page = Math.max(0, Math.min(page, pages - 1));
    pair.rows.slice(page * size, (page + 1) * size).forEach(function (r) {
      var first = swapped ? r.c : r.a, second = swapped ? r.a : r.c;
      var stage = P.el("div", {class: "stage"},
                       P.el("img", {src: "media/" + benchmark + "/" + r.id + "/thumb.webp", alt: "row " + r.id, loading: "lazy"}));
      [[first, "pred"], [second, "alt"]].forEach(function (item) {
        if (item[0].mask) stage.appendChild(P.el("img", {class: "layer", src: item[0].mask, alt: "", loading: "lazy",
                                                         style: "filter:url(#" + style() + "-" + item[1] + ")"}));
      });
      grid.appendChild(P.el("a", {class: "card", "data-id": r.id, href: P.link("sample.html", {b: benchmark, id: r.id, m: a.key})},
                            stage, P.el("div", {class: "caption"}, P.el("strong", {text: "#" + r.id + " · " + r.why.join(", ")}),
                                        P.el("div", {}, P.el("span", {class: "swatch pred"}), " " + outcome(first)),
                                        P.el("div", {}, P.el("span", {class: "swatch alt"}), " " + outcome(second)))));
    });
    $("page").textContent = "page " + (page + 1) + " of " + pages;
    $("previous").disabled = page === 0;
    $("next").disabled = page >= pages - 1;
  }

  function turn(step) {
    if (!shown) return;
    page += step;
    draw(shown.pair, shown.swapped);
  }

  function load() {
    var a = $("a").value, c = $("c").value;
    if (a === c) {
      shown = null;
      $("grid").textContent = "";
      $("summary").textContent = "choose two different models";
      return;
    }
    var keys = doc.models.map(function (m) { return m.key; });
    var swapped = keys.indexOf(a) > keys.indexOf(c);
    var file = swapped ? c + "-" + a : a + "-" + c;
    P.need(benchmark + "/compare-" + file).then(function (pair) { draw(pair, swapped); })
      .catch(function (error) { P.fail(String(error.message || error)); });
  }

  P.need(benchmark + "/models").then(function (models) {
    doc = models;
    $("heading").textContent = models.display_name + ": where two models differ";
    models.models.forEach(function (m) {
      $("a").appendChild(P.el("option", {value: m.key, text: m.model}));
      $("c").appendChild(P.el("option", {value: m.key, text: m.model}));
    });
    var keys = models.models.map(function (m) { return m.key; });
    $("a").value = keys.indexOf(query.get("a")) >= 0 ? query.get("a") : keys[0];
    $("c").value = keys.indexOf(query.get("c")) >= 0 ? query.get("c") : keys[Math.min(1, keys.length - 1)];
    load();
  }).catch(function (error) { P.fail(String(error.message || error)); });
  ["a", "c"].forEach(function (id) { $(id).addEventListener("change", function () { page = 0; load(); }); });
  document.querySelectorAll("input[name=style]").forEach(function (r) {
    r.addEventListener("change", function () { if (shown) draw(shown.pair, shown.swapped); });
  });
  $("previous").addEventListener("click", function () { turn(-1); });
  $("next").addEventListener("click", function () { turn(1); });
  document.addEventListener("keydown", function (event) {
    if (event.target.tagName === "INPUT" || event.target.tagName === "SELECT") return;
    if (event.key === "ArrowRight" && !$("next").disabled) turn(1);
    if (event.key === "ArrowLeft" && !$("previous").disabled) turn(-1);
  });
})();
