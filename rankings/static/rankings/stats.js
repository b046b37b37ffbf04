/* Charts of the statistics pages.  Data comes from json_script elements, never from strings built in the page. */
(function () {
  "use strict";

  var COLOR = "#8b1a1a";
  // Tooltips drawn on the canvas: ECharts' HTML tooltips carry style="" attributes, which the
  // Content-Security-Policy (style-src 'self') refuses.
  var TOOLTIP = "richText";

  function readJson(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function columnChart() {
    var data = readJson("column-chart-data");
    var element = document.getElementById("column-chart");
    var select = document.getElementById("chart-column");
    if (!data || !element || !select || !data.units.length) {
      if (element) element.style.display = "none";
      return;
    }
    var note = document.getElementById("column-chart-note");
    var chart = null;
    function draw() {
      var column = Number(select.value);
      var pairs = data.units.map(function (name, row) { return [name, data.values[row][column]]; });
      var zero = pairs.filter(function (p) { return p[1] === 0; }).length;
      // Units with 0 are left out of the bars and counted in the note, so the chart stays readable.
      pairs = pairs.filter(function (p) { return p[1] > 0; });
      pairs.sort(function (a, b) { return b[1] - a[1]; });
      note.textContent = pairs.length === 0 ? "所选指标在该期间内没有数据。"
        : zero ? "其余 " + zero + " 个单位为 0，未画出。" : "";
      if (chart) { chart.dispose(); chart = null; }
      element.style.display = pairs.length ? "" : "none";
      if (!pairs.length) return;
      element.style.height = Math.max(120, pairs.length * 24 + 50) + "px";
      chart = echarts.init(element);
      chart.setOption({
        animation: false,
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, renderMode: TOOLTIP },
        grid: { left: 8, right: 56, top: 8, bottom: 8, containLabel: true },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: {
          type: "category", inverse: true, axisLabel: { interval: 0 },
          data: pairs.map(function (p) { return p[0]; })
        },
        series: [{
          type: "bar", name: data.columns[column], itemStyle: { color: COLOR }, barMaxWidth: 18,
          label: { show: true, position: "right" },
          data: pairs.map(function (p) { return p[1]; })
        }]
      });
    }
    select.addEventListener("change", draw);
    window.addEventListener("resize", function () { if (chart) chart.resize(); });
    draw();
  }

  function trendCharts() {
    document.querySelectorAll("[data-trend]").forEach(function (element) {
      var data = readJson(element.getAttribute("data-trend"));
      if (!data) return;
      var selected = {};
      data.series.forEach(function (s) {
        selected[s.name] = s.data.some(function (v) { return v > 0; });
      });
      var chart = echarts.init(element);
      chart.setOption({
        animation: false,
        tooltip: { trigger: "axis", renderMode: TOOLTIP },
        legend: { type: "scroll", top: 0, selected: selected },
        grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
        xAxis: { type: "category", data: data.months },
        yAxis: { type: "value", minInterval: 1 },
        series: data.series.map(function (s) {
          return { name: s.name, type: "line", data: s.data, symbolSize: 6 };
        })
      });
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  columnChart();
  trendCharts();
})();
