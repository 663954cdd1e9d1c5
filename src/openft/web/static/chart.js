// A small SVG line chart: one polyline per series of {step, value} points, with a legend.
import { h, number } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed"];
const W = 520, H = 220, PAD = { left: 52, right: 12, top: 12, bottom: 28 };

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function bounds(series) {
  const points = series.flatMap((s) => s.points);
  const xs = points.map((p) => p.step), ys = points.map((p) => p.value);
  let [ylo, yhi] = [Math.min(...ys), Math.max(...ys)];
  if (ylo === yhi) [ylo, yhi] = [ylo - 0.5, yhi + 0.5];
  return { xlo: Math.min(...xs, 0), xhi: Math.max(...xs, 1), ylo, yhi };
}

// series: [{name, points: [{step, value}]}]; empty series are left out.
export function lineChart(title, series) {
  const shown = series.filter((s) => s.points.length);
  const figure = h("figure", { class: "chart", "data-chart": title });
  figure.append(h("figcaption", {}, title));
  if (!shown.length) return figure;
  const b = bounds(shown);
  const x = (step) => PAD.left + ((step - b.xlo) / (b.xhi - b.xlo)) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - ((v - b.ylo) / (b.yhi - b.ylo)) * (H - PAD.top - PAD.bottom);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img" });
  root.append(svg("rect", { x: PAD.left, y: PAD.top, width: W - PAD.left - PAD.right, height: H - PAD.top - PAD.bottom, class: "plot" }));
  for (const v of [b.ylo, (b.ylo + b.yhi) / 2, b.yhi]) {
    root.append(svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: "grid" }));
    root.append(svg("text", { x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end" }, number(v)));
  }
  root.append(svg("text", { x: x(b.xlo), y: H - 8, "text-anchor": "start" }, `step ${b.xlo}`));
  root.append(svg("text", { x: x(b.xhi), y: H - 8, "text-anchor": "end" }, `step ${b.xhi}`));
  const legend = h("div", { class: "legend" });
  shown.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const points = s.points.map((p) => `${x(p.step).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
    root.append(svg("polyline", { points, stroke: color, "data-series": s.name, "data-points": s.points.length }));
    if (s.points.length === 1) root.append(svg("circle", { cx: x(s.points[0].step), cy: y(s.points[0].value), r: 3, fill: color }));
    legend.append(h("span", { style: `color:${color}` }, `■ ${s.name} ${number(s.points.at(-1).value)}`));
  });
  figure.append(root, legend);
  return figure;
}
