/* The index: every results table sorts by its headers; a leaderboard ranks by the metric chosen, measured rows
   first (renumbered), published rows below them. */
(function () {
  "use strict";
  document.querySelectorAll("table.results").forEach(function (table) { pixbench.sortable(table); });

  function rank(table, header) {
    var column = Array.prototype.findIndex.call(table.tHead.rows[0].cells, function (th) {
      return th.textContent === header;
    });
    if (column < 0) return;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var measured = rows.filter(function (r) { return r.classList.contains("measured"); });
    var published = rows.filter(function (r) { return r.classList.contains("published"); });
    function value(row) {
      var raw = row.cells[column].getAttribute("data-value");
      return raw === null || raw === "null" ? null : Number(raw);
    }
    function order(a, b) {
      var x = value(a), y = value(b);
      if (x === null) return y === null ? 0 : 1;
      if (y === null) return -1;
      return y - x;
    }
    measured.sort(order);
    published.sort(order);
    measured.forEach(function (row, k) {
      row.cells[0].textContent = String(k + 1);
      row.cells[0].setAttribute("data-value", String(k + 1));
      body.appendChild(row);
    });
    published.forEach(function (row) { body.appendChild(row); });
  }

  document.querySelectorAll("select.rank-by").forEach(function (select) {
    var table = document.getElementById(select.getAttribute("data-table"));
    select.addEventListener("change", function () { rank(table, select.value); });
    rank(table, select.value);
  });
})();
