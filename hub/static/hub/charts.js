// Charts of an integration page, drawn with uPlot (vendor/uplot-1.6.32, MIT): a time axis, a
// y axis, a legend that shows each series' value for the bucket under the pointer, bars that
// stay visible at low volume, and points on the latency line so a single value reads.
// Data: <script id="series"> = {hourly, kind, points: [{at, volume, errors, p95, refused,
// failed_attempts | tests}]} (hub/dashboard.py), every bucket of the range, oldest first.
(function () {
  const node = document.getElementById("series");
  if (!node || typeof uPlot === "undefined") return;
  const data = JSON.parse(node.textContent);
  const points = data.points;
  const times = points.map((p) => Date.parse(p.at) / 1000);
  const bucket = data.hourly ? "hour" : "minute";
  const step = data.hourly ? 3600 : 60;
  const source = data.kind === "source";
  const bars = uPlot.paths.bars({size: [0.7, 40, 2]});
  const fmtTime = (u, ts) => (ts == null ? "" : new Date(ts * 1000).toLocaleString([], {
    month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"}));
  const count = (u, v) => (v == null ? "–" : String(v));

  function chart(el, series, values, yLabel) {
    if (!el) return;
    const opts = {
      width: Math.max(el.clientWidth, 320),
      height: el.dataset.height ? Number(el.dataset.height) : 200,
      cursor: {points: {size: 8}},
      legend: {live: true},
      scales: {
        // Half a bucket of room at each end, so the first and last bars are whole.
        x: {time: true, range: (u, min, max) => [min - step / 2, max + step / 2]},
        y: {range: (u, min, max) => [0, Math.max(1, max) * 1.1]},
      },
      axes: [
        {label: `time (per ${bucket}, your local time)`},
        {label: yLabel, values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? v : ""))},
      ],
      series: [{label: bucket === "hour" ? "hour" : "minute", value: fmtTime}, ...series],
    };
    el.innerHTML = "";
    const plot = new uPlot(opts, [times, ...values], el);
    new ResizeObserver(() => plot.setSize({width: Math.max(el.clientWidth, 320), height: opts.height}))
      .observe(el);
  }

  const volume = source
    ? [
        [{label: "received", stroke: "#2f6fb3", fill: "rgba(47,111,179,.55)", paths: bars, value: count, points: {show: false}}, points.map((p) => p.volume)],
        [{label: "dead", stroke: "#b42318", fill: "rgba(180,35,24,.75)", paths: bars, value: count, points: {show: false}}, points.map((p) => p.errors)],
        [{label: "refused", stroke: "#5b6b7c", width: 1.5, value: count, points: {show: true, size: 5}}, points.map((p) => p.refused)],
        [{label: "failed attempts", stroke: "#9a6700", width: 1.5, dash: [4, 3], value: count, points: {show: true, size: 5}}, points.map((p) => p.failed_attempts)],
      ]
    : [
        [{label: "calls", stroke: "#2f6fb3", fill: "rgba(47,111,179,.55)", paths: bars, value: count, points: {show: false}}, points.map((p) => p.volume)],
        [{label: "failed", stroke: "#b42318", fill: "rgba(180,35,24,.75)", paths: bars, value: count, points: {show: false}}, points.map((p) => p.errors)],
        [{label: "health checks", stroke: "#5b6b7c", width: 1.5, value: count, points: {show: true, size: 5}}, points.map((p) => p.tests)],
      ];
  chart(document.getElementById("chart-volume"), volume.map((s) => s[0]), volume.map((s) => s[1]),
        source ? "deliveries" : "calls");
  chart(
    document.getElementById("chart-latency"),
    [{label: "p95 (up to, ms)", stroke: "#9a6700", width: 2, spanGaps: false,
      value: (u, v) => (v == null ? "–" : `up to ${v} ms`), points: {show: true, size: 6}}],
    [points.map((p) => p.p95)],
    "ms",
  );
})();
