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
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var search = document.getElementById("filter-text");
  var status = document.getElementById("filter-status");
  var review = document.getElementById("filter-review");
  var shown = document.getElementById("shown");
  var noMatch = document.getElementById("no-match");
  var noMatchText = document.getElementById("no-match-text");
  var clear = document.getElementById("clear-filters");
  // The view (search, filters, sort) is kept in the address's hash, "#view?q=...&sort=...", and in
  // this tab's sessionStorage, so it survives opening a person's page and coming back (by the
  // browser's back button or the page's own link).
  var PREFIX = "#view?";
  var STORE = "harmrank-view:" + location.pathname;
  var sorted = { key: "rank", ascending: true };

  function key(row, column, numeric) {
    var cell = row.cells[column];
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
    if (raw === "") { return null; }  // missing values sort last, either direction
    return numeric ? parseFloat(raw) : raw.toLowerCase();
  }

  function sortBy(header, ascending) {
    var column = header.cellIndex;
    var numeric = header.getAttribute("data-type") === "num";
    headers.forEach(function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    sorted = { key: header.getAttribute("data-key"), ascending: ascending };
    var keyed = rows.map(function (row) { return [key(row, column, numeric), Number(row.dataset.position), row]; });
    keyed.sort(function (a, b) {
      if (a[0] === null || b[0] === null) {
        if (a[0] === b[0]) { return a[1] - b[1]; }
        return a[0] === null ? 1 : -1;
      }
      var order = numeric ? a[0] - b[0] : a[0].localeCompare(b[0], "en-GB", { numeric: true });
      if (!ascending) { order = -order; }
      return order !== 0 ? order : a[1] - b[1];  // ties keep the list order
    });
    keyed.forEach(function (item) { body.appendChild(item[2]); });
  }

  function label(select) {
    return select.options[select.selectedIndex].text;
  }

  function applyFilters() {
    var query = search.value.trim();
    var words = query.toLowerCase().split(/\s+/).filter(Boolean);
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
    noMatch.hidden = count !== 0;
    if (count === 0) {
      var what = [];
      if (query) { what.push("\u201c" + query + "\u201d"); }
      if (status.value) { what.push("status " + label(status)); }
      if (review.value) { what.push("review " + label(review)); }
      var clearWhat = query && !status.value && !review.value ? "the search" : "the search and filters";
      noMatchText.textContent = "No listed person matches " + what.join(" with ") + ". Clear " +
        clearWhat + " to see all " + rows.length + ".";
    }
  }

  function save() {
    var params = new URLSearchParams();
    if (search.value.trim()) { params.set("q", search.value.trim()); }
    if (status.value) { params.set("status", status.value); }
    if (review.value) { params.set("review", review.value); }
    if (sorted.key !== "rank" || !sorted.ascending) {
      params.set("sort", sorted.key);
      params.set("dir", sorted.ascending ? "asc" : "desc");
    }
    var view = params.toString();
    var hash = view ? PREFIX + view : "";
    if (location.hash.indexOf(PREFIX) === 0 || view) {
      try {
        history.replaceState(history.state, "", location.pathname + location.search + hash);
      } catch (e) { /* an address that cannot change: the session copy still holds the view */ }
    }
    try { sessionStorage.setItem(STORE, view); } catch (e) { /* storage off: the hash holds it */ }
  }

  function saved() {
    if (location.hash.indexOf(PREFIX) === 0) { return location.hash.slice(PREFIX.length); }
    try { return sessionStorage.getItem(STORE) || ""; } catch (e) { return ""; }
  }

  function choose(select, value) {
    var known = Array.prototype.some.call(select.options, function (o) { return o.value === value; });
    select.value = known ? value : "";
  }

  function restore() {
    var params = new URLSearchParams(saved());
    search.value = params.get("q") || "";
    choose(status, params.get("status") || "");
    choose(review, params.get("review") || "");
    var header = headers.filter(function (th) { return th.getAttribute("data-key") === params.get("sort"); })[0];
    if (header) {
      sortBy(header, params.get("dir") !== "desc");
    } else {
      sortBy(headers[0], true);
    }
    applyFilters();
  }

  headers.forEach(function (header) {
    header.querySelector("button").addEventListener("click", function () {
      sortBy(header, header.getAttribute("aria-sort") !== "ascending");
      save();
    });
  });
  [search, status, review].forEach(function (control) {
    control.addEventListener("input", function () { applyFilters(); save(); });
    control.addEventListener("change", function () { applyFilters(); save(); });
  });
  clear.addEventListener("click", function () {
    search.value = "";
    status.value = "";
    review.value = "";
    applyFilters();
    save();
    search.focus();
  });
  // An address with a view in it (pasted, or a bookmark) applies it without reloading the page.
  window.addEventListener("hashchange", function () {
    if (location.hash.indexOf(PREFIX) === 0) { restore(); }
  });
  restore();
})();
