// Small SVG charts for the evals views: histogram and horizontal bars. Labels are set with textContent only.

import { MISSING } from '../../extension/format';

const SVG_NS = 'http://www.w3.org/2000/svg';

function svgEl<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function svgText(x: number, y: number, text: string, attrs: Record<string, string | number> = {}): SVGTextElement {
  const t = svgEl('text', { x, y, ...attrs });
  t.textContent = text;
  return t;
}

export interface HistogramOptions {
  title: string;
  /** Value range; default [0, 1]. */
  min?: number;
  max?: number;
  bins?: number;
  width?: number;
  height?: number;
  /** Value labels: the caller's unit formatter (extension/format.ts). */
  format: (x: number) => string;
}

/** Histogram of values in [min, max] (values outside are clamped into the end bins). */
export function histogram(values: number[], options: HistogramOptions): SVGSVGElement {
  const min = options.min ?? 0;
  const max = options.max ?? 1;
  const bins = options.bins ?? 10;
  const width = options.width ?? 320;
  const height = options.height ?? 140;
  const pad = { left: 12, right: 12, top: 30, bottom: 22 };
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    const i = Math.min(bins - 1, Math.max(0, Math.floor(((v - min) / (max - min || 1)) * bins)));
    counts[i]++;
  }
  const top = Math.max(1, ...counts);
  const svg = svgEl('svg', { class: 'evals-chart', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' });
  svg.setAttribute('aria-label', `${options.title}: ${values.length} values`);
  svg.append(svgText(pad.left, 13, options.title, { class: 'evals-chart-title' }));
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const bw = plotW / bins;
  const fmt = options.format;
  const edge = (i: number) => min + (i * (max - min)) / bins;
  counts.forEach((c, i) => {
    const h = (c / top) * plotH;
    const x = pad.left + i * bw;
    const rect = svgEl('rect', { x: x + 1, y: pad.top + plotH - h, width: Math.max(1, bw - 2), height: h, class: 'evals-bar' });
    const tip = svgEl('title');
    tip.textContent = `${fmt(edge(i))}–${fmt(edge(i + 1))}: ${c}`;
    rect.append(tip);
    svg.append(rect);
    // Each bar's count above it (empty bins stay unlabelled).
    if (c > 0) svg.append(svgText(x + bw / 2, pad.top + plotH - h - 3, String(c), { class: 'evals-chart-label evals-bin-count', 'text-anchor': 'middle' }));
  });
  svg.append(svgEl('line', { x1: pad.left, y1: pad.top + plotH, x2: width - pad.right, y2: pad.top + plotH, class: 'evals-axis' }));
  // Every bin edge on the axis, or every other one when the bins are narrow.
  const step = bw >= 24 ? 1 : 2;
  for (let i = 0; i <= bins; i += step) {
    svg.append(svgText(pad.left + i * bw, height - 6, fmt(edge(i)), { class: 'evals-chart-label evals-bin-edge', 'text-anchor': 'middle' }));
  }
  return svg;
}

export interface BarsOptions {
  title: string;
  width?: number;
  /** Value labels: the caller's unit formatter (extension/format.ts). */
  format: (x: number) => string;
  /** Fixed maximum (e.g. 1 for scores); default the largest value. */
  max?: number;
}

/** Horizontal bars, one per labelled value (undefined values are shown as MISSING). */
export function bars(data: { label: string; value: number | undefined }[], options: BarsOptions): SVGSVGElement {
  const width = options.width ?? 360;
  const rowH = 18;
  const labelW = Math.min(170, Math.max(60, ...data.map((d) => d.label.length * 6.2)));
  const valueW = 48;
  const height = 22 + data.length * rowH + 4;
  const max = options.max ?? Math.max(0, ...data.map((d) => d.value ?? 0));
  const fmt = options.format;
  const svg = svgEl('svg', { class: 'evals-chart', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' });
  svg.setAttribute('aria-label', options.title);
  svg.append(svgText(0, 13, options.title, { class: 'evals-chart-title' }));
  const plotW = width - labelW - valueW - 8;
  data.forEach((d, i) => {
    const y = 22 + i * rowH;
    const label = svgText(labelW - 4, y + 12, d.label.length > 28 ? `${d.label.slice(0, 27)}…` : d.label, {
      class: 'evals-chart-label',
      'text-anchor': 'end',
    });
    const full = svgEl('title');
    full.textContent = d.label;
    label.append(full);
    svg.append(label);
    const w = d.value !== undefined && max > 0 ? Math.max(1, (d.value / max) * plotW) : 0;
    svg.append(svgEl('rect', { x: labelW, y: y + 2, width: w, height: rowH - 5, class: 'evals-bar' }));
    svg.append(svgText(labelW + w + 4, y + 12, d.value === undefined ? MISSING : fmt(d.value), { class: 'evals-chart-label' }));
  });
  return svg;
}
