// The commander's map: Shanghai's districts coloured by cases of the last 14 days, with the
// day's zones and arrivals in each district's tooltip. The figures are in the page
// (#command-data, the same rows as the table below it); the outlines are the vendored
// GeoJSON (static/vendor/shanghai-districts.json).
"use strict";

(() => {
  const { t } = window.cityline;
  const box = document.getElementById("command-map");
  if (!box) return;
  const rows = JSON.parse(document.getElementById("command-data").textContent);
  const byName = Object.fromEntries(rows.filter((r) => r.district).map((r) => [r.district, r]));

  function tooltip(params) {
    const r = byName[params.name];
    if (!r) return `${params.name}<br>${t("command.cases")}: 0`;
    return [
      `<b>${params.name}</b>`,
      `${t("command.cases")}: ${r.cases} (${t("command.new_cases", { n: r.new_cases })})`,
      `${t("zones.sealed")}: ${t("zones.count", { n: r.sealed_zones, people: r.sealed_people })}`,
      `${t("zones.controlled")}: ${r.controlled_zones} · ${t("zones.precaution")}: ${r.precaution_zones}`,
      `${t("command.arrivals")}: ${r.arrivals}`,
    ].join("<br>");
  }

  fetch(box.dataset.map)
    .then((response) => {
      if (!response.ok) throw new Error(response.status);
      return response.json();
    })
    .then((geo) => {
      echarts.registerMap("shanghai", geo);
      const chart = echarts.init(box);
      const most = Math.max(1, ...rows.map((r) => r.cases));
      chart.setOption({
        tooltip: { trigger: "item", formatter: tooltip },
        visualMap: { min: 0, max: most, left: 8, bottom: 8, text: [String(most), "0"], calculable: true,
                     inRange: { color: ["#f4f6f8", "#f5b041", "#c0392b"] } },
        series: [{
          type: "map", map: "shanghai", roam: true, name: t("command.cases"),
          label: { show: true, fontSize: 10 },
          data: geo.features.map((f) => ({ name: f.properties.name, value: (byName[f.properties.name] || {}).cases || 0 })),
        }],
      });
      box.dataset.drawn = "true";
      window.addEventListener("resize", () => chart.resize());
    })
    .catch((error) => {
      box.textContent = t("command.map_failed") + error.message;
    });
})();
