/** A small SVG line chart over time (several series, time axis, value axis, legend); no library. */
import { s, formatClock, formatNumber } from './dom.js';
import { timeTicks, valueAxis } from './logic/scale.js';

export interface Series {
  name: string;
  colour: string;
  points: { t: number; v: number }[];
}

export const SERIES_COLOURS = ['#1f6feb', '#d1495b', '#2e9d49', '#e6b800', '#8e44ad', '#00a6a6', '#f07f13', '#5d6d7e'];

export function lineChart(series: Series[], opts: { width?: number; height?: number; yLabel?: string } = {}): SVGSVGElement {
  const width = opts.width ?? 900;
  const height = opts.height ?? 300;
  const m = { left: 56, right: 110, top: 28, bottom: 34 };
  const all = series.flatMap((x) => x.points);
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', 'data-points': all.length });
  if (all.length === 0) return svg;
  const t0 = Math.min(...all.map((p) => p.t));
  const t1 = Math.max(...all.map((p) => p.t), t0 + 1);
  const { step: yStep, top: yTop, ticks: yTicks } = valueAxis(Math.max(...all.map((p) => p.v), 0));
  const x = (tm: number) => m.left + ((tm - t0) / (t1 - t0)) * (width - m.left - m.right);
  const y = (v: number) => height - m.bottom - (v / yTop) * (height - m.top - m.bottom);
  for (const v of yTicks) {
    svg.append(s('line', { x1: m.left, x2: width - m.right, y1: y(v), y2: y(v), stroke: '#e3e8ee' }));
    svg.append(s('text', { x: m.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, formatNumber(v, yStep < 1 ? 1 : 0)));
  }
  for (const tm of timeTicks(t0, t1, 6)) {
    svg.append(s('text', { x: x(tm), y: height - m.bottom + 18, 'text-anchor': 'middle', class: 'axis' }, formatClock(tm)));
  }
  svg.append(s('line', { x1: m.left, x2: m.left, y1: m.top, y2: height - m.bottom, stroke: '#8a96a3' }));
  svg.append(s('line', { x1: m.left, x2: width - m.right, y1: height - m.bottom, y2: height - m.bottom, stroke: '#8a96a3' }));
  if (opts.yLabel) svg.append(s('text', { x: 8, y: 14, class: 'axis' }, opts.yLabel));
  series.forEach((ser, i) => {
    const pts = [...ser.points].sort((a, b) => a.t - b.t);
    if (pts.length === 0) return;
    svg.append(s('polyline', { points: pts.map((p) => `${x(p.t)},${y(p.v)}`).join(' '), fill: 'none', stroke: ser.colour, 'stroke-width': 2, 'data-series': ser.name }));
    for (const p of pts) svg.append(s('circle', { cx: x(p.t), cy: y(p.v), r: 2.5, fill: ser.colour }, s('title', null, `${ser.name} ${formatClock(p.t)}: ${formatNumber(p.v)}`)));
    svg.append(s('rect', { x: width - m.right + 12, y: m.top + i * 18, width: 12, height: 4, fill: ser.colour }));
    svg.append(s('text', { x: width - m.right + 30, y: m.top + i * 18 + 6, class: 'axis' }, ser.name));
  });
  return svg;
}
