// The briefing archive: the list from /api/analytics/briefings, one briefing read in place
// (its own HTML, served by the analytics API).
"use strict";

(() => {
  const { t, api } = window.cityline;
  const root = document.getElementById("briefings");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const dayOf = (b) => b.day || b.date;

  function entry(briefing, chosen) {
    const item = document.createElement("li");
    const a = document.createElement("a");
    a.href = "/briefings?day=" + encodeURIComponent(dayOf(briefing));
    a.textContent = dayOf(briefing);
    if (dayOf(briefing) === chosen) a.setAttribute("aria-current", "page");
    item.append(a);
    if (briefing.generated_at) {
      const when = document.createElement("span");
      when.className = "hint";
      when.textContent = " " + t("briefings.generated", { at: new Date(briefing.generated_at).toLocaleString() });
      item.append(when);
    }
    return item;
  }

  async function load() {
    let archive;
    try {
      archive = await api("GET", "/api/analytics/briefings");
    } catch (error) {
      $("briefings-state").textContent = t("briefings.unavailable", { detail: error.status + " " + error.message });
      return;
    }
    const items = Array.isArray(archive) ? archive : archive.items || [];
    if (!items.length) {
      $("briefings-state").textContent = t("briefings.empty");
      return;
    }
    $("briefings-state").textContent = "";
    const chosen = root.dataset.chosen || dayOf(items[0]);
    $("archive").replaceChildren(...items.map((b) => entry(b, chosen)));
    const frame = $("briefing-frame");
    frame.src = "/api/analytics/briefings/" + encodeURIComponent(chosen) + "?format=html";
    frame.hidden = false;
  }

  document.addEventListener("DOMContentLoaded", load);
})();
