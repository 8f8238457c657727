// cityline console: what every page shares. Changes go to the JSON API with the session's
// CSRF token; lists refresh themselves through htmx ("cityline:changed" on <body>).
"use strict";

window.cityline = (() => {
  const strings = JSON.parse(document.getElementById("strings").textContent);

  function t(key, values) {
    let text = strings[key] || key;
    for (const [name, value] of Object.entries(values || {})) {
      text = text.replaceAll("{" + name + "}", String(value));
    }
    return text;
  }

  function csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // A problem's values in the reader's words: an action or a status by its name.
  function named(params) {
    const out = {};
    for (const [key, value] of Object.entries(params || {})) {
      const word = strings[key + "." + value];
      out[key] = key === "action" || key === "status" ? (word || value) : value;
    }
    return out;
  }

  // RFC 9457 problems say what was wrong. The API says it in English; the page says it in its
  // own language from the problem's code (problem.<code>), else from its status, naming each
  // wrong field and why (problem.field.<code>). An English page without a string for the code
  // shows the API's own sentence, which says most.
  function problemText(data, status) {
    if (!data || typeof data !== "object") return strings["problem.status." + status] || String(data || status);
    const english = document.documentElement.lang === "en";
    const own = data.code && strings["problem." + data.code];
    let text = own ? t("problem." + data.code, named(data.params))
      : english && data.detail ? data.detail
      : strings["problem.status." + (data.status || status)] || t("problem.status.other", { status });
    if (Array.isArray(data.errors) && data.errors.length) {
      // A field's own refusal without a translation (a catalogue row naming an unknown unit)
      // is shown as the API says it: it names what to fix, which a general sentence would not.
      text += " (" + data.errors.map((e) => {
        const row = /^rules\.(\d+)/.exec(e.field);
        const field = row ? t("problem.rule_row", { n: Number(row[1]) + 1 }) : strings["field." + e.field] || e.field;
        const why = e.code && strings["problem.field." + e.code] ? t("problem.field." + e.code, e.params) : e.message;
        return field + ": " + why;
      }).join("; ") + ")";
    }
    return text;
  }

  async function api(method, url, body, headers) {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "content-type": "application/json", accept: "application/json",
                 "x-csrf-token": csrf(), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = text; }
    if (response.status === 401 && !url.startsWith("/api/auth/")) {
      // The session ran out: sign in again and come back here.
      window.location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
    }
    if (!response.ok) throw new ApiError(response.status, problemText(data, response.status));
    return data;
  }

  function flash(message, kind) {
    const box = document.getElementById("flash");
    if (!box) return;
    box.className = kind || "ok";
    box.textContent = message;
  }

  function fail(error) {
    flash(t("app.error") + ": " + error.message, "error");
  }

  // ---- countdowns: "剩余 3小时5分" / "已超时 1天2小时", kept current without a reload
  // When a deadline counts as near: the server's DUE_SOON (web/rules.py), given by the page.
  const SOON_SECONDS = Number(document.querySelector('meta[name="due-soon-seconds"]').content);

  function span(seconds) {
    const minutes = Math.floor(Math.abs(seconds) / 60);
    const parts = [["days", Math.floor(minutes / 1440)], ["hours", Math.floor((minutes % 1440) / 60)],
                   ["minutes", minutes % 60]].filter(([, n]) => n > 0).slice(0, 2);
    if (!parts.length) parts.push(["minutes", 0]);
    return parts.map(([unit, n]) => t("deadline." + unit, { n })).join("");
  }

  function tick() {
    for (const el of document.querySelectorAll("time.countdown[datetime]")) {
      const left = Math.round((Date.parse(el.getAttribute("datetime")) - Date.now()) / 1000);
      const state = left < 0 ? "overdue" : left <= SOON_SECONDS ? "due_soon" : "ok";
      el.classList.remove("overdue", "due_soon", "ok");
      el.classList.add(state);
      const out = el.querySelector(".left");
      if (out) out.textContent = t(left < 0 ? "deadline.over" : "deadline.left", { span: span(left) });
    }
  }

  // ---- one move of the loop from a form.move
  function fields(form) {
    const body = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled) continue;
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) continue;
      if (el.value.trim() !== "") body[el.name] = el.value.trim();
    }
    return body;
  }

  // The lists refresh themselves, but never while someone is filling in a move's form.
  function quiet() {
    return !document.querySelector('#live button.toggle[aria-expanded="true"]');
  }

  let lastMoved = null; // the order just moved, to put the keyboard back near it after a refresh

  function refocus(event) {
    const live = event.target;
    if (!live || live.id !== "live" || !lastMoved) return;
    const card = document.getElementById("o-" + lastMoved);
    const next = card && card.querySelector("button, a[href]");
    (next || live).focus();
    lastMoved = null;
  }

  function changed(form) {
    if (form.closest("[hx-get]") && window.htmx) {
      lastMoved = form.dataset.number;
      window.htmx.trigger(document.body, "cityline:changed");
    } else {
      window.location.reload();
    }
  }

  async function move(form) {
    const number = form.dataset.number;
    const action = form.dataset.action;
    const button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    try {
      await api("POST", "/api/orders/" + encodeURIComponent(number) + "/moves",
                { action, ...fields(form) });
      flash(number + " · " + t("action." + action) + " · " + t("app.saved"), "ok");
      changed(form);
    } catch (error) {
      fail(error);
      if (button) button.disabled = false;
    }
  }

  async function reveal(form) {
    try {
      const data = await api("POST", "/api/orders/" + encodeURIComponent(form.dataset.number) +
                             "/reveal", fields(form));
      const phone = document.getElementById("phone");
      if (phone) phone.textContent = data.caller_phone || phone.dataset.masked;
      flash(t("order.revealed"), "ok");
    } catch (error) {
      fail(error);
    }
  }

  async function markRead(form) {
    try {
      await api("POST", "/api/notifications/" + encodeURIComponent(form.dataset.id) + "/read");
      changed(form);
    } catch (error) {
      fail(error);
    }
  }

  async function signIn(form) {
    const error = document.getElementById("login-error");
    try {
      await api("POST", "/api/auth/login", fields(form));
      window.location.assign(form.dataset.next || "/");
    } catch (e) {
      error.hidden = false;
      error.textContent = t("login.failed") + e.message;
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    const handler = form.matches("form.move") ? move : form.matches("form.reveal") ? reveal
      : form.matches("form.notice-read") ? markRead : form.id === "login-form" ? signIn : null;
    if (!handler) return;
    event.preventDefault();
    handler(form);
  });

  // A button that opens the small form of a move (reason, reply, …) right below it.
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button.toggle");
    if (button) {
      const target = document.getElementById(button.getAttribute("aria-controls"));
      const opening = target.hidden;
      target.hidden = !opening;
      button.setAttribute("aria-expanded", String(opening));
      if (opening) {
        const first = target.querySelector("input:not([type=hidden]), textarea, select");
        if (first) first.focus();
      }
      return;
    }
    if (event.target.closest("#sign-out")) {
      fetch("/api/auth/logout", { method: "POST", credentials: "same-origin" })
        .finally(() => window.location.assign("/login"));
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    tick();
    setInterval(tick, 30000);
  });
  document.addEventListener("htmx:afterSwap", tick);
  document.addEventListener("htmx:afterSettle", refocus);

  return { t, api, flash, fail, quiet, problemText, csrf };
})();
