// Leaders' live situation: figures from /api/analytics/situation, drawn with ECharts.
// The "map" is a treemap of districts → streets sized by orders (no geographic outlines are
// shipped, and a treemap reads the concentration at a glance on any screen).
"use strict";

(() => {
  const { t, api } = window.cityline;
  const root = document.getElementById("situation");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const number = (n) => (typeof n === "number" ? n.toLocaleString() : "—");
  const percent = (x) => (typeof x === "number" ? (x * 100).toFixed(1) + "%" : "—");
  const change = (x) => (typeof x === "number" ? (x >= 0 ? "+" : "") + (x * 100).toFixed(1) + "%" : "");

  function compared(count, ratio, today) {
    // "1,100 (+12.0%)": the other day's count, and today's change against it. When only the
    // change is given, the other day's count follows from it: today / (1 + change).
    if (typeof count !== "number" && typeof ratio === "number" && typeof today === "number" && ratio > -1) {
      count = Math.round(today / (1 + ratio));
    }
    if (typeof count !== "number" && typeof ratio !== "number") return "—";
    return `${number(count)} ${ratio === undefined || ratio === null ? "" : "(" + change(ratio) + ")"}`.trim();
  }

  function li(text, href) {
    const item = document.createElement("li");
    if (href) {
      const a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      item.append(a);
    } else {
      item.textContent = text;
    }
    return item;
  }

  function kpis(data) {
    const totals = data.totals || {};
    const yesterday = data.yesterday || {};
    const lastYear = data.last_year || {};
    $("k-received").textContent = number(totals.received);
    $("k-yesterday").textContent = compared(yesterday.received ?? totals.previous_day,
                                            totals.vs_previous_day, totals.received);
    $("k-last-year").textContent = compared(lastYear.received ?? totals.same_day_last_year,
                                            totals.vs_same_day_last_year, totals.received);
    $("k-epidemic").textContent = percent(totals.epidemic_share);
  }

  function curveChart(curve, day) {
    const chart = echarts.init($("chart-curve"));
    const days = curve.map((c) => c.day);
    chart.setOption({
      grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" },
      legend: { top: 0, data: [t("app.all_orders"), t("app.epidemic")] },
      xAxis: { type: "category", data: days },
      yAxis: { type: "value" },
      series: [
        { name: t("app.all_orders"), type: "line", data: curve.map((c) => c.received), smooth: true,
          itemStyle: { color: "#1f5fa8" },
          markLine: days.includes(day) ? { symbol: "none", data: [{ xAxis: day }], label: { formatter: day } } : undefined },
        { name: t("app.epidemic"), type: "line", data: curve.map((c) => c.epidemic), smooth: true,
          itemStyle: { color: "#b3261e" } },
      ],
    });
    return chart;
  }

  function categoryChart(categories) {
    const top = categories.slice(0, 12).reverse();
    const chart = echarts.init($("chart-categories"));
    chart.setOption({
      grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: { type: "value" },
      yAxis: { type: "category", data: top.map((c) => c.name || c.code) },
      series: [{ type: "bar", data: top.map((c) => c.count), label: { show: true, position: "right" },
                 itemStyle: { color: "#1f5fa8" } }],
    });
    return chart;
  }

  function placeTree(hotspots) {
    const districts = new Map();
    for (const h of hotspots) {
      const district = h.district || "—";
      if (!districts.has(district)) districts.set(district, { name: district, value: 0, children: [] });
      const node = districts.get(district);
      node.value += h.count;
      if (h.street) node.children.push({ name: h.street, value: h.count });
    }
    return [...districts.values()];
  }

  function placeChart(hotspots) {
    const chart = echarts.init($("chart-places"));
    chart.setOption({
      tooltip: { formatter: (p) => `${p.treePathInfo.map((n) => n.name).filter(Boolean).join(" / ")}: ${number(p.value)}` },
      series: [{ type: "treemap", data: placeTree(hotspots), leafDepth: 1, roam: false,
                 breadcrumb: { show: true }, label: { show: true, formatter: "{b}\n{c}" },
                 upperLabel: { show: true, height: 20 },
                 levels: [{ itemStyle: { borderColor: "#fff", borderWidth: 2, gapWidth: 2 } },
                          { colorSaturation: [0.35, 0.6], itemStyle: { gapWidth: 1 } }] }],
    });
    const list = $("hotspots");
    list.replaceChildren(...hotspots.slice(0, 10).map((h) =>
      li(`${h.district || ""}${h.street || ""} · ${number(h.count)}`)));
    return chart;
  }

  function lists(data) {
    const names = Object.fromEntries((data.categories || []).map((c) => [c.code, c.name]));
    const issues = data.issues || [];
    $("issues").replaceChildren(...(issues.length ? issues.slice(0, 10).map((i) =>
      li(`${names[i.category] ? names[i.category] + "：" : ""}${i.title} · ${number(i.count)}`))
      : [li(t("app.none"))]));
    const emerging = data.emerging || [];
    $("emerging").replaceChildren(...(emerging.length ? emerging.slice(0, 10).map((e) =>
      li(`${e.title} · ${number(e.count)}` + (e.first_seen ? ` · ${t("situation.since", { day: e.first_seen })}` : "") +
         (e.places && e.places.length ? ` · ${e.places.slice(0, 3).join("、")}` : ""))) : [li(t("app.none"))]));
  }

  async function load() {
    const day = root.dataset.day;
    let data;
    try {
      data = await api("GET", "/api/analytics/situation?day=" + encodeURIComponent(day));
    } catch (error) {
      $("situation-state").textContent = t("situation.unavailable", { detail: error.status + " " + error.message });
      root.setAttribute("aria-busy", "false");
      return;
    }
    $("situation-state").textContent = "";
    // The figures are the background export's, not the store's this instant: say how fresh.
    $("situation-fresh").textContent = data.exported_at
      ? t("situation.exported", { at: new Date(data.exported_at).toLocaleString(document.documentElement.lang || undefined, {
          timeZone: document.querySelector('meta[name="time-zone"]').content, hour12: false }) })
      : t("situation.not_exported");
    $("situation-fresh").hidden = false;
    $("kpis").hidden = false;
    $("charts").hidden = false;
    kpis(data);
    lists(data);
    const charts = [curveChart(data.curve || [], day), categoryChart(data.categories || []),
                    placeChart(data.hotspots || [])];
    window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
    root.setAttribute("aria-busy", "false");
  }

  document.addEventListener("DOMContentLoaded", load);
})();
