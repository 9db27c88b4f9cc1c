// Pieces the evals views share: sideways-scrolling tables and a catalogue metric's bar chart.

import { chartMax, metricHeading, type MetricInfo } from '../../extension/evals/metrics/catalogue';
import { formatMetric } from '../../extension/format';
import { h } from '../components';
import { bars } from './charts';

/** Wide tables scroll sideways inside their box instead of pushing the page wider. */
export function scrollable(table: HTMLElement): HTMLElement {
  return h('div', { class: 'evals-scroll' }, table);
}

/** A catalogue metric's bars, titled, scaled and formatted by the catalogue. */
export function metricBars(m: MetricInfo, data: { label: string; value: number | undefined }[]): SVGSVGElement {
  return bars(data, { title: metricHeading(m), max: chartMax(m), format: (x) => formatMetric(x, m.unit) });
}
