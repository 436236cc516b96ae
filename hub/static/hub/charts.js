// Small SVG charts for the integration page: bars of volume with errors stacked in red, and a
// p95 latency line. The data comes from <script id="series"> as {hourly, points: [{at, volume,
// errors, p95, ...}]} (hub/dashboard.py).
(function () {
  const node = document.getElementById("series");
  if (!node) return;
  const series = JSON.parse(node.textContent).points;
  const NS = "http://www.w3.org/2000/svg";
  function el(name, attrs) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function draw(svg, values, color, kind, extra) {
    const width = svg.clientWidth || 800, height = svg.clientHeight || 120;
    const top = Math.max(1, ...values.filter((v) => v !== null));
    const step = width / Math.max(values.length, 1);
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    if (!values.some((v) => v)) {
      const t = el("text", {x: 8, y: 20, fill: "#5b6b7c"});
      t.textContent = "No data in this range.";
      svg.appendChild(t);
      return;
    }
    if (kind === "bars") {
      values.forEach((v, i) => {
        const h = (v / top) * (height - 14);
        svg.appendChild(el("rect", {x: i * step + 1, y: height - h, width: Math.max(step - 2, 1), height: h, fill: color}));
        if (extra && extra[i]) {
          const eh = (extra[i] / top) * (height - 14);
          svg.appendChild(el("rect", {x: i * step + 1, y: height - eh, width: Math.max(step - 2, 1), height: eh, fill: "#b42318"}));
        }
      });
    } else {
      const pts = values.map((v, i) => v === null ? null : [i * step + step / 2, height - (v / top) * (height - 14)]).filter(Boolean);
      svg.appendChild(el("polyline", {points: pts.map((p) => p.join(",")).join(" "), fill: "none", stroke: color, "stroke-width": 2}));
      pts.forEach(([x, y]) => svg.appendChild(el("circle", {cx: x, cy: y, r: 2.5, fill: color})));
    }
    const label = el("text", {x: 4, y: 11, fill: "#5b6b7c", "font-size": 11});
    label.textContent = kind === "bars" ? `max ${top}` : `max ${top} ms`;
    svg.appendChild(label);
  }
  draw(document.getElementById("chart-volume"), series.map((p) => p.volume), "#2f6fb3", "bars", series.map((p) => p.errors));
  draw(document.getElementById("chart-latency"), series.map((p) => p.p95), "#9a6700", "line");
})();
