/* One expression of a video benchmark: a player per probe, side by side, all stepped by one slider. Each player
   composes its probe from the video's frames sheet, the expression's truth sheet and the model's mask sheet as
   the data's view spec says (at shown position i: the tile of original frame target_frames[i] in the target
   half, other_frames[i] in the other half, the truth of target_frames[i] in the target half, the model's tile i
   over the whole canvas). Masks are 1-bit tiles coloured by the site's SVG filters. Under each player, the
   per-frame J and F (static: FPR and FG_FPR) of every presented frame (or of the frames a record names, where
   its protocol re-sampled them), with the shown one marked. A probe's tags (what the score's records say of the
   expression: target kind, type) are shown with it; an expression a protocol dropped is marked so.
   Keys: space play/pause, arrows step, j/k next/previous expression (the grid's filtered order, else the ids). */
(function () {
  "use strict";
  var P = pixbench, query = P.params(), benchmark = query.get("b"), expressionId = query.get("id");
  var $ = function (id) { return document.getElementById(id); };
  var SVG = "http://www.w3.org/2000/svg";
  var PLAYER_WIDTH = 360, PLOT_HEIGHT = 64;
  var doc = null, models = null, players = [], images = {}, videoTiles = {};
  var state = {i: 0, timer: null};

  function image(src) {
    if (!src) return null;
    var img = images[src];
    if (!img) {
      img = new Image();
      img.addEventListener("load", function () { draw(); });
      img.addEventListener("error", function () { P.fail("cannot load " + src); });
      img.src = src;
      images[src] = img;
    }
    return img;
  }

  /* Draw tile k of a sheet (tiles of h x w in rows of `columns`) at (x, y); whether it was drawn. */
  function blit(context, img, columns, k, h, w, x, y) {
    if (!img || !img.complete || !img.naturalWidth || k === undefined || k === null || k < 0) return false;
    context.drawImage(img, (k % columns) * w, Math.floor(k / columns) * h, w, h, x, y, w, h);
    return true;
  }

  function indexOf(frames) {
    var index = {};
    frames.forEach(function (frame, k) { index[frame] = k; });
    return index;
  }

  function svg(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    return node;
  }

  function modelKey() { return $("model").value; }

  function entryOf(player) {
    var model = doc.models[modelKey()];
    return model ? model.probes[player.spec.key] || null : null;
  }

  function isStatic(player) { return player.spec.probe === "static"; }

  /* The per-frame series a probe's plot shows: [name, list, class]. */
  function series(player, entry) {
    if (!entry) return [];
    return isStatic(player) ? [["FPR", entry.FPR_t, "j"], ["FG_FPR", entry.FG_FPR_t, "f"]]
                            : [["J", entry.J_t, "j"], ["F", entry.F_t, "f"]];
  }

  /* The index in an entry's per-frame lists of presented frame t (-1: not among the frames it scored). */
  function frameIndex(entry, t) {
    return entry && entry.frames ? entry.frames.indexOf(t) : t;
  }

  function tagsText(tags) {
    return Object.keys(tags || {}).map(function (name) { return name + ": " + tags[name]; }).join(" · ");
  }

  function plot(player) {
    var width = player.width, height = PLOT_HEIGHT, last = Math.max(1, doc.length - 1);
    var node = svg("svg", {class: "plot", width: width, height: height, viewBox: "0 0 " + width + " " + height,
                           role: "img"});
    var x = function (t) { return 2 + (width - 4) * t / last; };
    var y = function (v) { return 2 + (height - 16) * (1 - v); };
    doc.positions.forEach(function (t) {
      node.appendChild(svg("line", {class: "shown", x1: x(t), x2: x(t), y1: height - 14, y2: height - 11}));
    });
    var entry = entryOf(player), label = svg("text", {x: 4, y: height - 3});
    series(player, entry).forEach(function (s) {
      if (!s[1]) return;
      var points = s[1].map(function (v, k) {
        return x(entry.frames ? entry.frames[k] : k).toFixed(1) + "," + y(v).toFixed(1);
      }).join(" ");
      node.appendChild(svg("polyline", {class: s[2], points: points}));
      var name = svg("tspan", {class: s[2]});
      name.textContent = s[0] + " ";
      label.appendChild(name);
    });
    var rest = svg("tspan", {});
    rest.textContent = !label.childNodes.length ? "no per-frame values" :
      entry.frames ? "of the " + entry.frames.length + " frames scored (0 to 100 %)" : "of every presented frame (0 to 100 %)";
    label.appendChild(rest);
    node.appendChild(label);
    player.cursor = svg("line", {class: "cursor", x1: 0, x2: 0, y1: 0, y2: height - 11});
    node.appendChild(player.cursor);
    player.x = x;
    node.addEventListener("click", function (event) {
      var box = node.getBoundingClientRect(), t = (event.clientX - box.left - 2) / (width - 4) * last;
      var best = 0;
      doc.positions.forEach(function (p, k) { if (Math.abs(p - t) < Math.abs(doc.positions[best] - t)) best = k; });
      go(best);
    });
    if (player.plot) player.plot.replaceWith(node);
    player.plot = node;
    return node;
  }

  function percent(v) { return v === undefined || v === null ? "-" : P.fmt(100 * v); }

  function values(player) {
    var entry = entryOf(player), box = player.values, v;
    box.textContent = "";
    if (!entry) { box.appendChild(P.el("span", {class: "muted", text: "not scored on this probe"})); return; }
    if (entry.dropped) {
      box.appendChild(P.el("div", {class: "wrong", text: "no line: dropped, left out of every mean"}));
      player.frameValue = null;
      return;
    }
    v = entry.values;
    var text = isStatic(player)
      ? "FPR " + percent(v.FPR) + " · FG_FPR " + percent(v.FG_FPR) + " · J_bg " + percent(v.J_bg) + " · H_bg " + percent(v.H_bg)
      : "J&F " + percent(v.JF) + " · J " + percent(v.J) + " · F " + percent(v.F) +
        (v.D_FPR !== undefined ? " · D_FPR " + percent(v.D_FPR) : "");
    if (entry.answered_empty) text += " · answered empty";
    box.appendChild(P.el("div", {class: entry.missing ? "wrong" : null,
                                 text: entry.missing ? "no line: scored as missing · " + text : text}));
    player.frameValue = P.el("div", {class: "frame-value"});
    box.appendChild(player.frameValue);
    if (entry.source) box.appendChild(P.el("div", {class: "muted", text: "line " + entry.source}));
  }

  function build() {
    var holder = $("players");
    holder.textContent = "";
    players = doc.probes.map(function (spec) {
      var frameW = doc.display[1], units = spec.display[1] / frameW;
      var width = Math.round(PLAYER_WIDTH * units);
      var frame = P.el("canvas", {class: "frame", width: spec.display[1], height: spec.display[0]});
      var gt = P.el("canvas", {class: "mask gt", width: spec.display[1], height: spec.display[0]});
      var pred = P.el("canvas", {class: "mask pred", width: spec.display[1], height: spec.display[0]});
      var stage = P.el("div", {class: "vstage", "data-probe": spec.key}, frame, gt, pred);
      stage.style.width = width + "px";
      if (spec.other) {
        var halfW = 100 * frameW / spec.display[1], halfH = 100 * doc.display[0] / spec.display[0];
        var box = P.el("div", {class: "half", title: "target half"});
        box.style.left = (spec.target[1] * halfW) + "%";
        box.style.top = (spec.target[0] * halfH) + "%";
        box.style.width = halfW + "%";
        box.style.height = halfH + "%";
        stage.appendChild(box);
      }
      var side = spec.other ? " · target " + (spec.target[1] ? "right" : spec.target[0] ? "bottom" : "left") + " half" : "";
      var caption = P.el("figcaption", {}, P.el("strong", {text: spec.label}), side,
                         P.el("span", {class: "text", text: "“" + spec.expression + "”"}),
                         spec.tags ? P.el("span", {class: "tags", text: tagsText(spec.tags)}) : null);
      var player = {spec: spec, width: width, frame: frame, gt: gt, pred: pred, stage: stage,
                    gtTiles: indexOf(spec.gt.frames), values: P.el("div", {class: "values"}), plot: null};
      var figure = P.el("figure", {class: "player", "data-probe": spec.key}, caption, stage);
      figure.appendChild(plot(player));
      figure.appendChild(player.values);
      holder.appendChild(figure);
      return player;
    });
  }

  function drawPlayer(player) {
    var spec = player.spec, i = state.i, h = doc.display[0], w = doc.display[1];
    var target = spec.target_frames[i];
    var video = image(doc.video.src), context = player.frame.getContext("2d");
    blit(context, video, doc.video.columns, videoTiles[target], h, w, spec.target[1] * w, spec.target[0] * h);
    if (spec.other) {
      blit(context, video, doc.video.columns, videoTiles[spec.other_frames[i]], h, w, spec.other[1] * w, spec.other[0] * h);
    }
    var truth = player.gt.getContext("2d");
    truth.clearRect(0, 0, player.gt.width, player.gt.height);
    blit(truth, image(spec.gt.src), spec.gt.columns, player.gtTiles[target], h, w, spec.target[1] * w, spec.target[0] * h);
    var mask = player.pred.getContext("2d"), entry = entryOf(player);
    mask.clearRect(0, 0, player.pred.width, player.pred.height);
    var drawn = entry && entry.mask ?
      blit(mask, image(entry.mask.src), entry.mask.columns, i, spec.display[0], spec.display[1], 0, 0) : false;
    player.stage.setAttribute("data-position", String(i));
    player.stage.setAttribute("data-frame", String(target));
    player.pred.setAttribute("data-tile", entry && entry.mask ? String(i) : "");
    player.pred.setAttribute("data-drawn", drawn ? "true" : "false");
    var t = doc.positions[i];
    player.cursor.setAttribute("x1", player.x(t));
    player.cursor.setAttribute("x2", player.x(t));
    if (player.frameValue) {
      var k = frameIndex(entry, t);
      var parts = series(player, entry).filter(function (s) { return s[1]; })
        .map(function (s) { return s[0] + " " + percent(s[1][k]); });
      player.frameValue.textContent = !parts.length ? "" : k < 0 ? "this frame (" + spec.names[i] + "): not scored" :
        "this frame (" + spec.names[i] + "): " + parts.join(" · ");
    }
  }

  function draw() {
    if (!doc) return;
    players.forEach(drawPlayer);
    var t = doc.positions[state.i];
    $("position").value = String(state.i);
    $("where").textContent = "shown " + (state.i + 1) + " of " + doc.positions.length + " · presented frame " +
      (t + 1) + " of " + doc.length;
    document.body.setAttribute("data-position", String(state.i));
  }

  function restyle() {
    var style = document.querySelector("input[name=style]:checked").value;
    var opacity = String(Number($("opacity").value) / 100);
    players.forEach(function (player) {
      player.gt.style.filter = "url(#" + style + "-" + (isStatic(player) ? "cand" : "gt") + ")";
      player.pred.style.filter = "url(#" + style + "-pred)";
      player.gt.style.opacity = opacity;
      player.pred.style.opacity = opacity;
      player.gt.hidden = !$("show-gt").checked;
      player.pred.hidden = !$("show-pred").checked;
    });
  }

  function go(i) {
    state.i = Math.max(0, Math.min(doc.positions.length - 1, i));
    draw();
  }

  function step(by) { go((state.i + by + doc.positions.length) % doc.positions.length); }

  function play(on) {
    if (state.timer) { clearInterval(state.timer); state.timer = null; }
    if (on) state.timer = setInterval(function () { step(1); }, 1000 / Number($("fps").value));
    $("play").setAttribute("data-playing", on ? "true" : "false");
    $("play").firstChild.textContent = on ? "pause (" : "play (";
  }

  function order() {
    try {
      var stored = JSON.parse(sessionStorage.getItem("pixbench:order:" + benchmark) || "null");
      if (stored && stored.indexOf(expressionId) >= 0) return stored;
    } catch (e) { /* no storage: the expressions' order */ }
    return models.expressions.map(function (pair) { return pair[0]; });
  }

  function navigate(by) {
    var ids = order(), next = ids[ids.indexOf(expressionId) + by];
    if (next === undefined) return;
    window.location.href = P.link("video.html", {b: benchmark, id: next, m: modelKey()});
  }

  function summary() {
    var table = P.el("table", {class: "results summary"});
    var head = P.el("tr", {}, P.el("th", {class: "label", scope: "col", text: "model"}));
    doc.probes.forEach(function (spec) {
      head.appendChild(P.el("th", {class: "metric", scope: "col",
                                   text: spec.label + (spec.probe === "static" ? " FPR" : " J&F")}));
    });
    table.appendChild(P.el("thead", {}, head));
    var body = P.el("tbody");
    Object.keys(doc.models).forEach(function (key) {
      var model = doc.models[key];
      var tr = P.el("tr", {"data-model": key, class: key === modelKey() ? "current" : null},
                    P.el("td", {class: "label", text: model.model}));
      doc.probes.forEach(function (spec) {
        var entry = model.probes[spec.key], v = null;
        if (entry) v = spec.probe === "static" ? entry.values.FPR : entry.values.JF;
        tr.appendChild(P.el("td", {"data-value": v === null || v === undefined ? "null" : String(100 * v),
                                   class: entry && entry.missing ? "wrong" : null,
                                   title: entry && entry.dropped ? "no line: dropped, left out of every mean" : null,
                                   text: entry && entry.dropped ? "dropped" : percent(v)}));
      });
      tr.addEventListener("click", function () { $("model").value = key; changeModel(); });
      body.appendChild(tr);
    });
    table.appendChild(body);
    var holder = $("summary");
    holder.textContent = "";
    holder.appendChild(table);
    P.sortable(table);
  }

  function changeModel() {
    players.forEach(function (player) { plot(player); values(player); });
    $("back").href = P.link("videos.html", {b: benchmark, m: modelKey()});
    document.querySelectorAll("#summary tr[data-model]").forEach(function (tr) {
      tr.classList.toggle("current", tr.getAttribute("data-model") === modelKey());
    });
    draw();
  }

  P.need(benchmark + "/models").then(function (found) {
    models = found;
    var pair = models.expressions.filter(function (p) { return p[0] === expressionId; })[0];
    if (!pair) throw new Error("no expression " + expressionId + " in " + models.display_name);
    return P.need(benchmark + "/exp-" + pair[1]);
  }).then(function (found) {
    doc = found;
    $("heading").textContent = models.display_name + " " + doc.id;
    document.title = models.display_name + " " + doc.id;
    var tagged = doc.probes.filter(function (spec) { return spec.tags; })[0];
    $("expression").textContent = "“" + doc.expression + "”" + (!("reversed_expression" in doc) ? "" :
      doc.reversed_expression ? " · reversed: “" + doc.reversed_expression + "”" : " · no reversed form") +
      (tagged ? " · " + tagsText(tagged.tags) : "");
    $("static-note").hidden = !doc.probes.some(function (spec) { return spec.probe === "static"; });
    videoTiles = indexOf(doc.video.frames);
    if (doc.video.grey) {
      $("note").textContent = "This build holds no frames (built with --no-frames): the players draw on grey.";
      $("note").hidden = false;
    }
    models.models.forEach(function (m) { $("model").appendChild(P.el("option", {value: m.key, text: m.model})); });
    var wanted = query.get("m");
    if (models.models.some(function (m) { return m.key === wanted; })) $("model").value = wanted;
    $("position").max = String(doc.positions.length - 1);
    build();
    summary();
    restyle();
    changeModel();
  }).catch(function (error) { P.fail(String(error.message || error)); });

  $("model").addEventListener("change", changeModel);
  $("position").addEventListener("input", function () { go(Number($("position").value)); });
  $("play").addEventListener("click", function () { play(!state.timer); });
  $("fps").addEventListener("change", function () { if (state.timer) play(true); });
  ["show-gt", "show-pred", "opacity"].forEach(function (id) { $(id).addEventListener("input", restyle); });
  document.querySelectorAll("input[name=style]").forEach(function (r) { r.addEventListener("change", restyle); });
  $("previous").addEventListener("click", function () { navigate(-1); });
  $("next").addEventListener("click", function () { navigate(1); });
  document.addEventListener("keydown", function (event) {
    var target = event.target, tag = target.tagName, type = String(target.type || "").toLowerCase();
    if (!doc || tag === "SELECT" || tag === "TEXTAREA") return;
    if (tag === "INPUT" && ["range", "checkbox", "radio"].indexOf(type) < 0) return;
    if (event.key === " ") { event.preventDefault(); play(!state.timer); return; }
    if (tag === "INPUT" && type !== "checkbox") return;  /* a slider's or radio's arrows are its own */
    if (event.key === "ArrowRight") { event.preventDefault(); play(false); step(1); }
    else if (event.key === "ArrowLeft") { event.preventDefault(); play(false); step(-1); }
    else if (event.key === "j") navigate(1);
    else if (event.key === "k") navigate(-1);
  });
})();
