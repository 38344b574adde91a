(function () {
  "use strict";

  // Printing shows every collapsed section (the rest of the reasons, older history).
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });

  var table = document.getElementById("list");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  rows.forEach(function (row, i) { row.dataset.position = String(i); });

  function key(row, column, numeric) {
    var cell = row.cells[column];
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
    if (!numeric) { return raw.toLowerCase(); }
    return raw === "" ? null : parseFloat(raw);
  }

  function sortBy(header) {
    var column = header.cellIndex;
    var numeric = header.getAttribute("data-type") === "num";
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("thead th[aria-sort]").forEach(function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var keyed = rows.map(function (row) { return [key(row, column, numeric), Number(row.dataset.position), row]; });
    keyed.sort(function (a, b) {
      if (a[0] === null || b[0] === null) {
        if (a[0] === b[0]) { return a[1] - b[1]; }
        return a[0] === null ? 1 : -1;  // missing values last, either direction
      }
      var order = numeric ? a[0] - b[0] : a[0].localeCompare(b[0], "en-GB");
      if (!ascending) { order = -order; }
      return order !== 0 ? order : a[1] - b[1];
    });
    keyed.forEach(function (item) { body.appendChild(item[2]); });
  }

  table.querySelectorAll("thead th button").forEach(function (button) {
    button.addEventListener("click", function () { sortBy(button.parentElement); });
  });

  var search = document.getElementById("filter-text");
  var status = document.getElementById("filter-status");
  var review = document.getElementById("filter-review");
  var shown = document.getElementById("shown");

  function applyFilters() {
    var words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    var count = 0;
    rows.forEach(function (row) {
      var text = row.getAttribute("data-search");
      var visible = words.every(function (w) { return text.indexOf(w) !== -1; }) &&
        (status.value === "" || row.getAttribute("data-status") === status.value) &&
        (review.value === "" || row.getAttribute("data-reviewed") === review.value);
      row.hidden = !visible;
      if (visible) { count += 1; }
    });
    shown.textContent = "Showing " + count + " of " + rows.length + " people.";
  }

  [search, status, review].forEach(function (control) {
    control.addEventListener("input", applyFilters);
    control.addEventListener("change", applyFilters);
  });
  applyFilters();
})();
