// A cluster's graph (风险群): its cases and their tier-1 and tier-2 contacts, drawn with the
// vendored ECharts as a force-directed graph. The data come with the page (labels masked
// already; people outside the visitor's reach have an anonymous id and no label).
"use strict";

(() => {
  const { t } = window.cityline;
  const holder = document.getElementById("cluster-graph");
  const data = document.getElementById("cluster-data");
  if (!holder || !data) return;
  const graph = JSON.parse(data.textContent);
  const roles = ["case", "tier1", "tier2"];
  const colours = { case: "#b3261e", tier1: "#d97706", tier2: "#1f5fa8" };
  const sizes = { case: 26, tier1: 18, tier2: 12 };

  const chart = echarts.init(holder);
  chart.setOption({
    tooltip: {
      formatter: (p) => (p.dataType === "edge"
        ? t("relation." + p.data.relation)
        : `${p.data.label || "—"} · ${t("graph_role." + p.data.role)}`),
    },
    legend: [{ data: roles.map((r) => t("graph_role." + r)), top: 0 }],
    series: [{
      type: "graph",
      layout: "force",
      roam: true,
      draggable: true,
      force: { repulsion: 600, edgeLength: [90, 180], gravity: 0.05 },
      categories: roles.map((r) => ({ name: t("graph_role." + r), itemStyle: { color: colours[r] } })),
      label: { show: true, position: "right", formatter: (p) => p.data.label },
      data: graph.nodes.map((n) => ({
        id: n.id, name: n.id, label: n.label, role: n.role, category: roles.indexOf(n.role),
        symbolSize: sizes[n.role],
      })),
      links: graph.edges.map((e) => ({
        source: e.source, target: e.target, relation: e.relation,
        lineStyle: { width: e.tier === 0 ? 3 : 1, type: e.tier === 2 ? "dashed" : "solid",
                     color: e.tier === 0 ? colours.case : "#888" },
      })),
    }],
  });
  holder.dataset.nodes = String(graph.nodes.length);
  window.addEventListener("resize", () => chart.resize());
})();
