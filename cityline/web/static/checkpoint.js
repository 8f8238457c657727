// Registering a vehicle at a checkpoint, on a phone: one column, big buttons. The registration
// goes to POST /api/checkpoints/registrations; what it says back (turned back, a closed-loop task,
// who is flagged for want of a recent negative test) is shown at once, above the emptied form.
"use strict";

(() => {
  const { t, api, fail } = window.cityline;
  const $ = (id) => document.getElementById(id);
  const form = $("ck-form");
  if (!form) return;
  const people = $("ck-people");
  const template = $("ck-person");
  const REMEMBERED = "cityline.checkpoint";
  let count = 0;
  let key = null;  // the Idempotency-Key of the registration being sent

  function addPerson(role) {
    const n = count++;
    const box = template.content.firstElementChild.cloneNode(true);
    box.dataset.role = role;
    box.querySelector("legend").textContent = role === "driver" ? t("checkpoint.driver")
      : t("checkpoint.passenger", { n: people.querySelectorAll('[data-role="passenger"]').length + 1 });
    for (const radio of box.querySelectorAll('input[type="radio"]')) radio.name = "code-" + n;
    people.append(box);
    return box;
  }

  function reset() {
    form.reset();
    people.replaceChildren();
    count = 0;
    addPerson("driver");
    const kept = localStorage.getItem(REMEMBERED);
    if (kept && form.elements.checkpoint.querySelector(`option[value="${CSS.escape(kept)}"]`)) {
      form.elements.checkpoint.value = kept;
    }
    showDirection();
  }

  function showDirection() {
    const leaving = form.elements.direction.value === "left";
    for (const el of form.querySelectorAll(".coming-in")) el.hidden = leaving;
  }

  function body() {
    const value = (name) => form.elements[name].value.trim() || undefined;
    const sent = { checkpoint: value("checkpoint"), direction: form.elements.direction.value, plate: value("plate") };
    if (sent.direction === "in") {
      Object.assign(sent, { origin: value("origin"), destination: value("destination"), cargo: value("cargo"),
                            turn_back: $("ck-turn-back").checked, people: [] });
      for (const box of people.querySelectorAll("fieldset.person")) {
        const person = { role: box.dataset.role };
        for (const name of ["name", "phone", "id_number", "tested_at"]) {
          const given = box.querySelector(`input[name="${name}"]`).value.trim();
          if (given) person[name] = given;  // a datetime-local value is local time, as the API reads it
        }
        const code = box.querySelector('input[type="radio"]:checked');
        if (code) person.health_code = code.value;
        sent.people.push(person);
      }
    }
    return sent;
  }

  function show(found) {
    const bad = found.outcome === "turned_back" || found.people.some((p) => p.flags.length);
    $("ck-result").className = "card checkpoint-result " + (bad ? "red" : "green");
    $("ck-outcome").textContent = t("checkpoint.outcome." + found.outcome, { plate: found.plate });
    const until = (iso) => iso.slice(0, 16).replace("T", " ");  // the API's local time (+08:00), as it is
    $("ck-loop").textContent = found.loop_order
      ? t("checkpoint.loop_opened", { area: found.risk_area, until: until(found.must_leave_by), number: found.loop_order })
      : found.closed_loop ? t("checkpoint.loop_closed", { number: found.closed_loop.loop_order || "" })
      : found.risk_area ? t("checkpoint.risk_turned_back", { area: found.risk_area }) : "";
    const list = $("ck-flags");
    list.replaceChildren();
    found.people.forEach((p, i) => {
      if (!p.flags.length) return;
      const item = document.createElement("li");
      item.className = "flag";
      const who = p.role === "driver" ? t("checkpoint.driver") : t("checkpoint.passenger", { n: i });
      item.textContent = `${who} ${p.name || ""}：${p.flags.map((f) => t("checkpoint.flag." + f)).join("、")}`;
      list.append(item);
    });
    $("ck-result").hidden = false;
    $("ck-result").scrollIntoView({ block: "start" });
  }

  form.addEventListener("change", (event) => {
    if (event.target.name === "direction") showDirection();
    if (event.target.name === "checkpoint") localStorage.setItem(REMEMBERED, event.target.value);
  });
  $("ck-add").addEventListener("click", () => addPerson("passenger").querySelector("input").focus());
  $("ck-next").addEventListener("click", () => {
    $("ck-result").hidden = true;
    form.elements.plate.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      // One key per vehicle registered: a resend after a lost answer registers it once.
      key = key || (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`);
      const found = await api("POST", "/api/checkpoints/registrations", body(), { "Idempotency-Key": key });
      key = null;
      reset();
      show(found);
    } catch (error) {
      if (error.status) key = null;  // answered: a corrected form is another request (a lost answer keeps the key)
      fail(error);
    } finally {
      button.disabled = false;
    }
  });
  reset();
})();
