// Inspection findings: the patrol form and the unit's reply send photos to the API as
// multipart/form-data with the session's CSRF token; the inspector's check is JSON. Refusals
// (not a photo, too large, a step the order's state does not allow) are said in the page's
// language from the problem's code, as everywhere in the console.
"use strict";

(() => {
  const { t, api, flash, fail, problemText, csrf } = window.cityline;

  async function send(url, form) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin", body: new FormData(form),
      headers: { accept: "application/json", "x-csrf-token": csrf() },
    });
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = text; }
    if (!response.ok) throw new Error(problemText(data, response.status));
    return data;
  }

  // Everything the form needs is said before anything is sent (the server checks it again).
  function missing(form) {
    const photos = form.querySelector('input[type="file"]');
    if (photos && !photos.files.length) return t("patrol.need_photo");
    if (form.elements.problem && !form.querySelector('input[name="problem"]:checked')) return t("patrol.need_problem");
    if (form.elements.text && !form.elements.text.value.trim()) return t("finding.need_text");
    return null;
  }

  async function submit(form, url, done) {
    const why = missing(form);
    if (why) { flash(t("app.error") + ": " + why, "error"); return; }
    const button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    try {
      done(await send(url, form));
    } catch (error) {
      fail(error);
      if (button) button.disabled = false;
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.id === "patrol-form") {
      event.preventDefault();
      submit(form, "/api/inspection/findings", (finding) => {
        window.location.assign("/inspection/findings/" + encodeURIComponent(finding.order.number));
      });
    } else if (form.matches("form.inspection-reply")) {
      event.preventDefault();
      submit(form, "/api/inspection/findings/" + encodeURIComponent(form.dataset.number) + "/reply",
             () => window.location.reload());
    } else if (form.matches("form.inspection-check")) {
      event.preventDefault();
      const accepted = event.submitter && event.submitter.value === "true";
      const note = form.elements.note.value.trim();
      api("POST", "/api/inspection/findings/" + encodeURIComponent(form.dataset.number) + "/check",
          { accepted, note: note || null })
        .then(() => window.location.reload())
        .catch(fail);
    }
  });

  // The site list narrows as the worker types part of a name, code or address.
  document.addEventListener("input", (event) => {
    if (event.target.id !== "site-search") return;
    const words = event.target.value.trim().toLowerCase();
    const select = document.getElementById("site");
    let first = null;
    for (const option of select.options) {
      const fits = !words || option.dataset.search.toLowerCase().includes(words);
      option.hidden = !fits;
      if (fits && !first) first = option;
    }
    if (first && select.selectedOptions[0] && select.selectedOptions[0].hidden) select.value = first.value;
  });

})();
