/* Charts of the rankings pages.  Data comes from json_script elements only. */
(function () {
  "use strict";

  var COLOR = "#8b1a1a";
  // Tooltips drawn on the canvas: ECharts' HTML tooltips carry style="" attributes, which the
  // Content-Security-Policy (style-src 'self') refuses.
  var TOOLTIP = "richText";
  // Bars of the score are coloured by grade, as the grade badges are.
  var GRADES = [[85, "#198754"], [70, "#0d6efd"], [60, "#e0a800"], [0, "#dc3545"]];

  function readJson(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function gradeColor(score) {
    for (var i = 0; i < GRADES.length; i++) if (score >= GRADES[i][0]) return GRADES[i][1];
    return GRADES[GRADES.length - 1][1];
  }

  function resizing(chart) {
    window.addEventListener("resize", function () { chart.resize(); });
    return chart;
  }

  function rankChart() {
    var data = readJson("rank-chart-data");
    var element = document.getElementById("rank-chart");
    var select = document.getElementById("rank-chart-series");
    if (!data || !element || !select || !data.units.length) {
      if (element) element.style.display = "none";
      return;
    }
    var note = document.getElementById("rank-chart-note");
    var chart = null;
    function draw() {
      var index = Number(select.value);
      var series = data.series[index];
      var pairs = data.units.map(function (name, row) { return [name, series.values[row]]; });
      var missing = pairs.filter(function (p) { return p[1] === null; }).length;
      pairs = pairs.filter(function (p) { return p[1] !== null; });
      pairs.sort(function (a, b) { return b[1] - a[1]; });
      note.textContent = pairs.length === 0 ? "所选指标在该期间内没有数据。"
        : missing ? missing + " 个单位没有该指标（如无双公示记录），未画出。" : "";
      if (chart) { chart.dispose(); chart = null; }
      element.style.display = pairs.length ? "" : "none";
      if (!pairs.length) return;
      element.style.height = Math.max(120, pairs.length * 24 + 50) + "px";
      chart = echarts.init(element);
      chart.setOption({
        animation: false,
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, renderMode: TOOLTIP },
        grid: { left: 8, right: 64, top: 8, bottom: 8, containLabel: true },
        xAxis: { type: "value", max: series.suffix === "%" || index === 0 ? 100 : null },
        yAxis: {
          type: "category", inverse: true, axisLabel: { interval: 0 },
          data: pairs.map(function (p) { return p[0]; })
        },
        series: [{
          type: "bar", name: series.label, barMaxWidth: 18,
          label: { show: true, position: "right", formatter: "{c}" + series.suffix },
          data: pairs.map(function (p) {
            return { value: p[1], itemStyle: { color: index === 0 ? gradeColor(p[1]) : COLOR } };
          })
        }]
      });
    }
    select.addEventListener("change", draw);
    window.addEventListener("resize", function () { if (chart) chart.resize(); });
    draw();
  }

  function unitTrend() {
    var data = readJson("unit-trend-data");
    var element = document.getElementById("unit-trend");
    if (!data || !element) return;
    var selected = {};
    data.series.forEach(function (s, i) {
      selected[s.name] = i === 0 || s.data.some(function (v) { return v > 0; });
    });
    resizing(echarts.init(element)).setOption({
      animation: false,
      tooltip: { trigger: "axis", renderMode: TOOLTIP },
      legend: { type: "scroll", top: 0, selected: selected },
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: data.months },
      yAxis: { type: "value", minInterval: 1 },
      series: data.series.map(function (s, i) {
        return {
          name: s.name, type: "line", data: s.data, symbolSize: 6,
          lineStyle: i === 0 ? { width: 3, color: COLOR } : undefined,
          itemStyle: i === 0 ? { color: COLOR } : undefined
        };
      })
    });
  }

  function cityRankChart() {
    var data = readJson("city-rank-data");
    var element = document.getElementById("city-rank-chart");
    if (!data || !element) return;
    if (!data.months.length) { element.style.display = "none"; return; }
    var worst = Math.max.apply(null, data.ranks.concat(data.target ? [data.target] : []));
    resizing(echarts.init(element)).setOption({
      animation: false,
      tooltip: {
        trigger: "axis",
        renderMode: TOOLTIP,
        formatter: function (items) {
          var i = items[0].dataIndex;
          return data.months[i] + "\n第 " + data.ranks[i] + " 名 / " + data.totals[i] + " 个城市"
            + "\n目标：前" + data.targets[i] + "名";
        }
      },
      grid: { left: 8, right: 96, top: 24, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: data.months },
      // Rank 1 is best: the axis is inverted so that rising means improving.
      yAxis: { type: "value", inverse: true, min: 1, max: Math.ceil(worst * 1.1 / 10) * 10, minInterval: 1 },
      series: [{
        name: "全国排名", type: "line", data: data.ranks, symbolSize: 8,
        itemStyle: { color: COLOR }, lineStyle: { width: 3, color: COLOR },
        label: { show: true, position: "top", formatter: "第{c}名" },
        markLine: data.target ? {
          symbol: "none", silent: true,
          lineStyle: { type: "dashed", color: "#198754", width: 2 },
          label: { position: "end", formatter: data.target_label, color: "#198754" },
          data: [{ yAxis: data.target }]
        } : undefined
      }]
    });
  }

  rankChart();
  unitTrend();
  cityRankChart();
})();
