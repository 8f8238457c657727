// cityline console, the administrator's pages: each form.api sends its fields as JSON to the
// API (data-method, data-url) and the page reloads to show the result; errors are shown in
// the page's language by app.js.
"use strict";

(() => {
  const { t, api, flash, fail } = window.cityline;

  // Catalogue files are CSV: fields split on commas, "quoted" fields may hold commas, quotes
  // ("") and line breaks. Rows come back as objects keyed by the header's columns.
  function csvRows(text) {
    const rows = [[]];
    let field = "", quoted = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
        else if (c === '"') quoted = false;
        else field += c;
      } else if (c === '"') quoted = true;
      else if (c === ",") { rows[rows.length - 1].push(field); field = ""; }
      else if (c === "\n" || c === "\r") {
        if (c === "\r" && text[i + 1] === "\n") i++;
        rows[rows.length - 1].push(field); field = ""; rows.push([]);
      } else field += c;
    }
    rows[rows.length - 1].push(field);
    const filled = rows.filter((r) => r.some((f) => f.trim() !== ""));
    const header = (filled.shift() || []).map((h) => h.trim().replace(/^\uFEFF/, ""));
    return filled.map((r) => {
      const rule = {};
      header.forEach((name, i) => {
        const value = (r[i] || "").trim();
        if (value !== "") rule[name] = name === "priority" ? Number(value) : value;
      });
      return rule;
    });
  }

  function body(form) {
    const out = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled) continue;
      if (el.type === "checkbox" && el.hasAttribute("data-many")) {
        out[el.name] = out[el.name] || [];
        if (el.checked) out[el.name].push(el.value);
      } else if (el.hasAttribute("data-bool")) {
        out[el.name] = el.value === "true";
      } else if (el.hasAttribute("data-csv")) {
        out[el.name] = csvRows(el.value);
      } else if (el.value.trim() !== "" || el.hasAttribute("data-keep-empty")) {
        out[el.name] = el.value.trim();
      }
    }
    return out;
  }

  async function send(form) {
    const button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    try {
      await api(form.dataset.method, form.dataset.url, body(form));
      flash(t("app.saved"), "ok");
      window.location.reload();
    } catch (error) {
      fail(error);
      if (button) button.disabled = false;
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.matches("form.api")) return;
    event.preventDefault();
    send(form);
  });

  // A chosen .csv file fills the text box, where it can still be looked at before sending.
  document.addEventListener("change", async (event) => {
    const input = event.target;
    if (input.type !== "file" || !input.closest("form.catalogue-import") || !input.files.length) return;
    const box = input.form.querySelector("textarea[data-csv]");
    box.value = await input.files[0].text();
  });
})();
