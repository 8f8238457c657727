// Issuing passes: one person, or everyone in a building, through POST /api/epidemic/passes/issue.
// A single pass issued opens its page (the QR code); otherwise each person's result is listed,
// a refusal with its reason in the reader's language.
"use strict";

(() => {
  const { t, api, fail } = window.cityline;
  const $ = (id) => document.getElementById(id);
  if (!$("issue-person")) return;

  const passUrl = (code) => "/epidemic/passes/" + encodeURIComponent(code);
  // The API's times carry the hotline's offset (+08:00): shown as they are, not in the phone's zone.
  const localTime = (iso) => iso.slice(0, 16).replace("T", " ");

  function show(results) {
    const list = $("pass-list");
    list.replaceChildren();
    const issued = results.filter((r) => r.issued).length;
    $("pass-summary").textContent = t("passes.summary", { issued, refused: results.length - issued });
    for (const r of results) {
      const item = document.createElement("li");
      item.className = r.issued ? "issued" : "refused";
      if (r.issued) {
        const a = document.createElement("a");
        a.href = passUrl(r.code);
        a.textContent = r.person + " · " + t("passes.issued_until", { until: localTime(r.valid_until) });
        item.append(a);
      } else {
        item.textContent = r.person + " · " + t("passes.refused", { reason: t("pass_reason." + r.reason) });
      }
      list.append(item);
    }
    $("pass-results").hidden = false;
  }

  async function issue(form, body) {
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const results = await api("POST", "/api/epidemic/passes/issue", body);
      if (results.length === 1 && results[0].issued) {
        window.location.assign(passUrl(results[0].code));
        return;
      }
      show(results);
    } catch (error) {
      fail(error);
    } finally {
      button.disabled = false;
    }
  }

  $("issue-person").addEventListener("submit", (event) => {
    event.preventDefault();
    issue(event.target, { persons: [$("person").value.trim()] });
  });

  $("issue-building").addEventListener("submit", (event) => {
    event.preventDefault();
    const body = {};
    for (const name of ["district", "street", "compound", "building"]) {
      const value = event.target.elements[name].value.trim();
      if (value) body[name] = value;
    }
    issue(event.target, body);
  });
})();
