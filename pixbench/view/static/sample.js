/* One image row: the image with the ground truth and a model's mask as overlays (fill or outline, opacity),
   candidates that can be shown one by one, the question and every model's replies and verdicts; previous/next
   follow the grid's filtered order (else the ids), also with the arrow keys. */
(function () {
  "use strict";
  var P = pixbench, query = P.params(), benchmark = query.get("b"), rowId = Number(query.get("id"));
  var $ = function (id) { return document.getElementById(id); };
  var row = null, models = null, layers = {};

  function style() { return document.querySelector("input[name=style]:checked").value; }

  function layer(name, src, colour) {
    var img = layers[name];
    if (!img) {
      img = P.el("img", {class: "layer mask", alt: "", "data-layer": name});
      layers[name] = img;
      $("stage").appendChild(img);
    }
    img.setAttribute("data-colour", colour);
    if (src) img.src = src; else img.removeAttribute("src");
    img.hidden = !src;
    return img;
  }

  function restyle() {
    var opacity = Number($("opacity").value) / 100;
    Object.keys(layers).forEach(function (name) {
      var img = layers[name];
      img.style.filter = "url(#" + style() + "-" + img.getAttribute("data-colour") + ")";
      img.style.opacity = String(opacity);
    });
    layers.gt.hidden = !$("show-gt").checked;
    if (layers.pred) layers.pred.hidden = !$("show-pred").checked || !layers.pred.getAttribute("src");
  }

  function order() {
    try {
      var stored = JSON.parse(sessionStorage.getItem("pixbench:order:" + benchmark) || "null");
      if (stored && stored.indexOf(rowId) >= 0) return stored;
    } catch (e) { /* no storage: the ids */ }
    return models.ids;
  }

  function go(step) {
    var ids = order(), at = ids.indexOf(rowId);
    var next = ids[at + step];
    if (next === undefined) return;
    window.location.href = P.link("sample.html", {b: benchmark, id: next, m: $("model").value});
  }

  function fact(list, term, value, cls) {
    if (value === null || value === undefined || value === "") return;
    list.appendChild(P.el("dt", {text: term}));
    list.appendChild(P.el("dd", {class: cls || null, text: String(value)}));
  }

  function showModel() {
    var key = $("model").value, model = row.models[key];
    var probes = Object.keys(model ? model.probes : {}).filter(function (p) { return model.probes[p].mask; });
    var probe = $("probe");
    var keep = probe.value;
    probe.textContent = "";
    probes.forEach(function (p) { probe.appendChild(P.el("option", {value: p, text: p})); });
    if (probes.indexOf(keep) >= 0) probe.value = keep;
    var entry = probes.length ? model.probes[probe.value] : null;
    $("back").href = P.link("samples.html", {b: benchmark, m: key});
    layer("pred", entry ? entry.mask : null, "pred");
    layer("cand", null, "cand");
    drawFacts(key);
    restyle();
  }

  function candidateList(entry) {
    var list = P.el("ol", {class: "candidates", start: "0"});
    (entry.candidates || []).forEach(function (c, k) {
      var chosen = c.chosen_by.length ? " chosen by " + c.chosen_by.join(", ") : "";
      var item = P.el("li", {"data-candidate": k},
                      P.el("button", {type: "button", text: "show", onclick: function () {
                        var showing = layers.cand && layers.cand.getAttribute("src") === c.mask && !layers.cand.hidden;
                        layer("cand", showing ? null : c.mask, "cand");
                        restyle();
                      }}),
                      " ", P.el("span", {text: (c.phrase || "(no phrase)") + " · IoU " + P.fmt(c.iou) +
                                         (c.score === null || c.score === undefined ? "" : " · score " + P.fmt(c.score, 3)) +
                                         chosen}),
                      entry.scored_candidate === k ? P.el("strong", {text: " · scored"}) : null);
      list.appendChild(item);
    });
    return list;
  }

  function drawFacts(key) {
    var facts = $("facts");
    facts.textContent = "";
    var list = P.el("dl", {class: "facts"});
    fact(list, "question", row.question);
    fact(list, "options", row.options_text);
    fact(list, "answer", row.answer);
    fact(list, "expression", row.expression || "(none: nothing to ground)");
    Object.keys(row.groups).forEach(function (name) { fact(list, name, row.groups[name]); });
    fact(list, "size", row.size[1] + " x " + row.size[0] + " px (shown at " + row.display[1] + " x " + row.display[0] + ")");
    facts.appendChild(list);
    Object.keys(row.models).forEach(function (k) {
      var model = row.models[k];
      var section = P.el("section", {class: "model" + (k === key ? " current" : ""), "data-model": k},
                         P.el("h3", {text: model.model + (model.category ? " · " + model.category.replace(/_/g, " ") : "")}));
      Object.keys(model.probes).forEach(function (probe) {
        var e = model.probes[probe], dl = P.el("dl", {class: "facts", "data-probe": probe});
        fact(dl, "probe", probe + (e.missing ? " (no line: scored as missing)" : ""));
        fact(dl, "reply", e.response);
        fact(dl, "parsed letter", e.parsed_letter);
        if (e.correct !== undefined && e.correct !== null) fact(dl, probe === "vqa" ? "judged" : "correct",
                                                                e.correct ? "right" : "wrong", e.correct ? "right" : "wrong");
        fact(dl, "verdict", e.verdict, e.correct ? "right" : "wrong");
        fact(dl, "judge reply", e.judge_reply);
        fact(dl, "judge error", e.judge_error, "wrong");
        if (e.iou !== undefined) fact(dl, "IoU", P.fmt(e.iou));
        fact(dl, "line", e.source);
        section.appendChild(dl);
        if (e.candidates && k === key) section.appendChild(candidateList(e));
      });
      facts.appendChild(section);
    });
  }

  Promise.all([P.need(benchmark + "/models"), P.need(benchmark + "/row-" + rowId)]).then(function (docs) {
    models = docs[0];
    row = docs[1];
    $("heading").textContent = models.display_name + " #" + row.id;
    document.title = models.display_name + " #" + row.id;
    $("image").src = row.image;
    /* small images are shown at least 480 px wide (masks stay sharp: image-rendering pixelated) */
    var width = Math.max(row.display[1], 480);
    $("image").style.width = width + "px";
    $("image").style.aspectRatio = row.display[1] + " / " + row.display[0];
    layer("gt", row.gt, "gt");
    models.models.forEach(function (m) { $("model").appendChild(P.el("option", {value: m.key, text: m.model})); });
    var wanted = query.get("m");
    if (models.models.some(function (m) { return m.key === wanted; })) $("model").value = wanted;
    showModel();
  }).catch(function (error) { P.fail(String(error.message || error)); });

  $("model").addEventListener("change", showModel);
  $("probe").addEventListener("change", showModel);
  ["show-gt", "show-pred", "opacity"].forEach(function (id) { $(id).addEventListener("input", restyle); });
  document.querySelectorAll("input[name=style]").forEach(function (r) { r.addEventListener("change", restyle); });
  $("previous").addEventListener("click", function () { go(-1); });
  $("next").addEventListener("click", function () { go(1); });
  document.addEventListener("keydown", function (event) {
    if (event.target.tagName === "INPUT" || event.target.tagName === "SELECT") return;
    if (event.key === "ArrowRight" || event.key === "j") go(1);
    if (event.key === "ArrowLeft" || event.key === "k") go(-1);
  });
})();
