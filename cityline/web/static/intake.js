// The operator's new-order form: as the call is typed, cityline's preview fills in the labels,
// place and likely unit, and lists possible duplicates and knowledge-base answers. Whatever the
// operator sets by hand stays as set (and is sent as the operator's label); the rest is left to
// triage when the order is stored.
"use strict";

(() => {
  const { t, api } = window.cityline;
  const form = document.getElementById("intake-form");
  if (!form) return;
  const names = JSON.parse(document.getElementById("names").textContent);
  const $ = (id) => document.getElementById(id);
  const canDispatch = form.dataset.canDispatch === "true";
  const touched = new Set();
  let unitNames = null;
  let asked = 0;
  let timer = null;
  let picked = null; // the knowledge-base article whose answer is in the answer box

  const nameOf = (code) => names[code] || code;

  // A field the operator changes is theirs from then on.
  function claim(event) {
    const auto = event.target.closest("[data-auto]");
    if (auto && event.isTrusted) touched.add(auto.id.replace(/^f-/, ""));
    return auto;
  }
  form.addEventListener("input", claim);
  form.addEventListener("change", (event) => {
    const auto = claim(event);
    if (auto && auto.id === "f-category") schedule();
  });
  for (const id of ["f-text", "f-address", "f-caller_phone"]) $(id).addEventListener("input", schedule);

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(preview, 350);
  }

  async function loadUnitNames() {
    if (unitNames) return unitNames;
    try {
      const units = await api("GET", "/api/units");
      unitNames = Object.fromEntries(units.map((u) => [u.code, u.name]));
    } catch (_) {
      unitNames = {};
    }
    return unitNames;
  }

  async function preview() {
    const text = $("f-text").value.trim();
    if (text.length < 2) return;
    const mine = ++asked;
    $("preview-state").textContent = t("app.loading");
    try {
      const [result, units] = await Promise.all([api("POST", "/api/intake/preview", {
        text, address: $("f-address").value.trim() || null,
        caller_phone: $("f-caller_phone").value.trim() || null,
        category: touched.has("category") ? $("f-category").value || null : null,
      }), loadUnitNames()]);
      if (mine !== asked) return; // a newer preview is on its way
      $("preview-state").textContent = "";
      fill(result, units);
    } catch (error) {
      if (mine === asked) $("preview-state").textContent = t("intake.preview_failed") + error.message;
    }
  }

  function setIfFree(name, value) {
    if (touched.has(name) || value === undefined || value === null) return;
    $("f-" + name).value = value;
  }

  function fill(result, units) {
    const triage = result.triage || {};
    for (const name of ["kind", "category", "urgency"]) setIfFree(name, triage[name]);
    if (!touched.has("special_groups")) {
      const groups = new Set(triage.special_groups || []);
      for (const box of form.querySelectorAll('input[name="special_groups"]')) box.checked = groups.has(box.value);
    }
    const place = result.place || {};
    setIfFree("district", place.district || "");
    setIfFree("street", place.street || "");
    const foreign = triage.language && triage.language !== "zh";
    $("foreign-badge").hidden = !foreign;
    $("foreign-badge").textContent = foreign ? t("intake.foreign", { language: triage.language }) : "";
    $("confirm-note").hidden = !triage.needs_confirmation;
    explain(triage.explanation);
    showUnits(result.suggested_units || [], units);
    showDuplicates(result.duplicates || []);
    showKnowledge(result.knowledge || []);
  }

  function explain(explanation) {
    const box = $("explanation");
    if (!explanation) { box.textContent = t("app.none"); return; }
    const parts = [];
    for (const name of ["category", "urgency", "kind"]) {
      const field = explanation[name];
      if (!field) continue;
      const words = (field.evidence || []).join("、");
      parts.push(`${t("field." + name)}: ${nameOf(field.value)} (${Math.round(field.confidence * 100)}%)` +
                 (words ? ` ← ${words}` : ""));
    }
    for (const [group, words] of Object.entries(explanation.special_group_evidence || {})) {
      parts.push(`${nameOf(group)} ← ${words.join("、")}`);
    }
    box.textContent = parts.join(" · ") || t("app.none");
  }

  function unitLabel(candidate, units) {
    return `${units[candidate.unit] || candidate.unit} (${Math.round(candidate.confidence * 100)}%)`;
  }

  function showUnits(candidates, units) {
    $("route-note").textContent = candidates.length
      ? candidates.map((c) => unitLabel(c, units)).join("；") : t("app.none");
    if (!canDispatch || touched.has("unit")) return;
    const select = $("f-unit");
    select.replaceChildren(new Option(t("intake.queue_unit"), ""));
    for (const c of candidates) select.add(new Option(unitLabel(c, units), c.unit));
  }

  function item(children) {
    const li = document.createElement("li");
    li.append(...children);
    return li;
  }

  function link(number) {
    const a = document.createElement("a");
    a.href = "/orders/" + encodeURIComponent(number);
    a.textContent = number;
    return a;
  }

  function showDuplicates(found) {
    const list = $("duplicates");
    if (!found.length) { list.replaceChildren(item([t("intake.no_duplicates")])); return; }
    list.replaceChildren(...found.map((d) => item([
      link(d.number), ` ${Math.round(d.score * 100)}% · ${(d.reasons || []).join("；")} · ` +
      t("status." + d.status)])));
  }

  function showKnowledge(found) {
    const list = $("knowledge");
    if (!found.length) { list.replaceChildren(item([t("intake.no_knowledge")])); return; }
    list.replaceChildren(...found.map((k) => {
      const title = document.createElement("strong");
      title.textContent = k.title;
      const answer = document.createElement("p");
      answer.className = "answer";
      answer.textContent = k.answer;
      const use = document.createElement("button");
      use.type = "button";
      use.textContent = t("intake.use_answer");
      use.addEventListener("click", () => {
        picked = k;
        $("f-answer").value = k.answer;
        $("f-answer").focus();
      });
      return item([title, answer, use]);
    }));
  }

  // ---- storing the order: "submit for dispatch" or "answer and close", one step each
  function body(mode) {
    const data = {
      text: $("f-text").value.trim(), channel: $("f-channel").value,
      caller_phone: $("f-caller_phone").value.trim() || null,
      caller_name: $("f-caller_name").value.trim() || null,
      address: $("f-address").value.trim() || null,
    };
    for (const name of ["kind", "category", "urgency", "district", "street"]) {
      if (touched.has(name) && $("f-" + name).value) data[name] = $("f-" + name).value;
    }
    if (touched.has("special_groups")) {
      data.special_groups = [...form.querySelectorAll('input[name="special_groups"]:checked')]
        .map((box) => box.value);
    }
    // Answered on the call means a consultation, which is never dispatched.
    if (mode === "answer" && !touched.has("kind")) data.kind = "consult";
    return data;
  }

  async function answer(order, text) {
    if (picked && picked.answer.trim() === text) {
      return api("POST", `/api/knowledge/articles/${encodeURIComponent(picked.external_id)}/answer`,
                 { order: order.number });
    }
    if (picked) {
      return api("POST", `/api/knowledge/articles/${encodeURIComponent(picked.external_id)}/answer`,
                 { order: order.number, text });
    }
    return api("POST", `/api/orders/${encodeURIComponent(order.number)}/moves`,
               { action: "answer", text });
  }

  async function route(order) {
    if (order.status === "dispatched") return order;
    const unit = canDispatch ? $("f-unit").value : "";
    if (!unit) return order;
    return api("POST", `/api/orders/${encodeURIComponent(order.number)}/moves`,
               { action: "dispatch", unit });
  }

  function report(message, number, kind) {
    const box = $("intake-result");
    box.className = "result " + kind;
    box.replaceChildren(message + " ");
    if (number) {
      const a = link(number);
      a.textContent = t("intake.open_order") + " " + number;
      box.append(a);
    }
  }

  function reset() {
    form.reset();
    touched.clear();
    picked = null;
    for (const id of ["duplicates", "knowledge"]) $(id).replaceChildren();
    $("explanation").textContent = t("app.none");
    $("route-note").textContent = t("app.none");
    $("foreign-badge").hidden = true;
    $("confirm-note").hidden = true;
    $("f-text").focus();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const mode = (event.submitter && event.submitter.dataset.mode) || "dispatch";
    const text = $("f-answer").value.trim();
    if (!$("f-text").value.trim()) { report(t("intake.need_text"), null, "error"); $("f-text").focus(); return; }
    if (mode === "answer" && !text) { report(t("intake.need_answer"), null, "error"); $("f-answer").focus(); return; }
    const buttons = form.querySelectorAll("button[type=submit]");
    buttons.forEach((b) => { b.disabled = true; });
    let order = null;
    try {
      const units = await loadUnitNames();
      order = await api("POST", "/api/orders", body(mode));
      if (mode === "answer") {
        await answer(order, text);
        report(t("intake.created_answered", { number: order.number }), order.number, "ok");
      } else {
        order = await route(order);
        const key = order.status === "dispatched" ? "intake.created_dispatched" : "intake.created_queued";
        report(t(key, { number: order.number, unit: units[order.unit] || order.unit }), order.number, "ok");
      }
      reset();
    } catch (error) {
      // When the order was stored but the next step failed, say so and link it: never record twice.
      report(t("app.error") + ": " + error.message, order && order.number, "error");
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
})();
