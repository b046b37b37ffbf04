/* Click-to-sort for tables marked data-sortable.
 * A header cell with data-sort-type="number" or "text" sorts its column; a cell's data-value
 * (else its text) is the sort key, and empty values always go last.  The first click sorts
 * descending for numbers (higher is better) unless the header says data-sort-first="asc". */
(function () {
  "use strict";

  function key(cell, type) {
    var raw = cell ? (cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent) : "";
    raw = raw.trim();
    if (raw === "") return null;
    return type === "number" ? Number(raw) : raw;
  }

  function compare(a, b, type) {
    if (type === "number") return a - b;
    return a.localeCompare(b, "zh-CN");
  }

  function sortBy(table, header, index) {
    var type = header.getAttribute("data-sort-type");
    var first = header.getAttribute("data-sort-first") || (type === "number" ? "desc" : "asc");
    var current = header.getAttribute("aria-sort");
    var ascending = current ? current === "descending" : first === "asc";
    table.querySelectorAll("th[aria-sort]").forEach(function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).filter(function (row) { return row.cells.length > index; });
    var keyed = rows.map(function (row, position) {
      return { row: row, key: key(row.cells[index], type), position: position };
    });
    keyed.sort(function (a, b) {
      if (a.key === null || b.key === null) {
        return a.key === b.key ? a.position - b.position : (a.key === null ? 1 : -1);
      }
      var order = compare(a.key, b.key, type);
      return (ascending ? order : -order) || a.position - b.position;
    });
    keyed.forEach(function (item) { body.appendChild(item.row); });
  }

  document.querySelectorAll("table[data-sortable]").forEach(function (table) {
    var headers = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(headers, function (header, index) {
      if (!header.hasAttribute("data-sort-type")) return;
      var target = header.querySelector("button") || header;
      target.addEventListener("click", function () { sortBy(table, header, index); });
    });
  });
})();
