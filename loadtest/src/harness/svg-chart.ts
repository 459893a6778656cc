/** One line of a chart, in data coordinates. */
export interface ChartSeries {
  name: string;
  color: string;
  /** SVG `stroke-dasharray`, such as `6 4`; solid when absent. */
  dash?: string;
  points: Array<[number, number]>;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  /** Tick positions on the x axis with their labels; evenly spaced ticks when absent. */
  xTicks?: Array<{ value: number; label: string }>;
  /** Vertical lines with a label, such as the start of the reconnect storm. */
  markers?: Array<{ x: number; label: string }>;
  /** A line under the title, such as the run's parameters. */
  subtitle?: string;
  /** Scale of the y axis. `log` spaces powers of ten evenly, so sub-millisecond and multi-second values both stay readable. */
  yScale?: 'linear' | 'log';
}

const WIDTH = 920;
const HEIGHT = 460;
const PLOT = { left: 70, right: 250, top: 60, bottom: 60 };

/** Renders a line chart as a standalone SVG document; no dependency, so the benchmark can write it anywhere. */
export function renderLineChart(chart: LineChart): string {
  const allPoints = chart.series.flatMap((series) => series.points);
  const xMin = Math.min(...allPoints.map(([x]) => x), ...(chart.xTicks ?? []).map((tick) => tick.value));
  const xMax = Math.max(...allPoints.map(([x]) => x), ...(chart.xTicks ?? []).map((tick) => tick.value), xMin + 1);
  const plotWidth = WIDTH - PLOT.left - PLOT.right;
  const plotHeight = HEIGHT - PLOT.top - PLOT.bottom;
  const toX = (x: number): number => PLOT.left + ((x - xMin) / (xMax - xMin)) * plotWidth;
  const yAxis = chart.yScale === 'log' ? logAxis(allPoints.map(([, y]) => y)) : linearAxis(allPoints.map(([, y]) => y));
  const toY = (y: number): number => PLOT.top + plotHeight - yAxis.fraction(y) * plotHeight;

  const parts: string[] = [];
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`);
  parts.push(`<text x="${PLOT.left}" y="26" font-size="17" font-weight="bold">${escapeXml(chart.title)}</text>`);
  if (chart.subtitle !== undefined) parts.push(`<text x="${PLOT.left}" y="46" font-size="12" fill="#555">${escapeXml(chart.subtitle)}</text>`);

  for (const y of yAxis.ticks) {
    parts.push(`<line x1="${PLOT.left}" x2="${PLOT.left + plotWidth}" y1="${toY(y).toFixed(1)}" y2="${toY(y).toFixed(1)}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${PLOT.left - 8}" y="${(toY(y) + 4).toFixed(1)}" font-size="12" text-anchor="end">${formatTick(y)}</text>`);
  }
  const xTicks = chart.xTicks ?? evenTicks(xMin, xMax);
  for (const tick of xTicks) {
    const x = toX(tick.value).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${PLOT.top}" y2="${PLOT.top + plotHeight}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${x}" y="${PLOT.top + plotHeight + 18}" font-size="12" text-anchor="middle">${escapeXml(tick.label)}</text>`);
  }
  parts.push(`<rect x="${PLOT.left}" y="${PLOT.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${PLOT.left + plotWidth / 2}" y="${HEIGHT - 14}" font-size="13" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`);
  parts.push(
    `<text x="18" y="${PLOT.top + plotHeight / 2}" font-size="13" text-anchor="middle" transform="rotate(-90 18 ${PLOT.top + plotHeight / 2})">${escapeXml(chart.yLabel)}</text>`,
  );

  for (const marker of chart.markers ?? []) {
    const x = toX(marker.x).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${PLOT.top}" y2="${PLOT.top + plotHeight}" stroke="#b00020" stroke-dasharray="3 3"/>`);
    parts.push(`<text x="${Number(x) + 4}" y="${PLOT.top + 14}" font-size="11" fill="#b00020">${escapeXml(marker.label)}</text>`);
  }

  chart.series.forEach((series, index) => {
    const path = series.points.map(([x, y]) => `${toX(x).toFixed(1)},${toY(y).toFixed(1)}`).join(' ');
    const dash = series.dash === undefined ? '' : ` stroke-dasharray="${series.dash}"`;
    parts.push(`<polyline points="${path}" fill="none" stroke="${series.color}" stroke-width="2"${dash}/>`);
    const legendY = PLOT.top + 10 + index * 22;
    const legendX = PLOT.left + plotWidth + 16;
    parts.push(`<line x1="${legendX}" x2="${legendX + 26}" y1="${legendY}" y2="${legendY}" stroke="${series.color}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${legendX + 32}" y="${legendY + 4}" font-size="12">${escapeXml(series.name)}</text>`);
  });

  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif">
${parts.join('\n')}
</svg>
`;
}

/** A y axis: where a value sits, from 0 at the bottom to 1 at the top, and where the ticks go. */
interface Axis {
  fraction: (value: number) => number;
  ticks: number[];
}

function linearAxis(values: readonly number[]): Axis {
  const largest = Math.max(...values, 0.001);
  const step = niceStep(largest / 5);
  const top = step * Math.ceil(largest / step);
  const ticks: number[] = [];
  for (let tick = 0; tick <= top + step / 2; tick += step) ticks.push(tick);
  return { fraction: (value) => value / top, ticks };
}

function logAxis(values: readonly number[]): Axis {
  const positive = values.filter((value) => value > 0);
  const low = Math.floor(Math.log10(Math.min(...positive, 1)));
  const high = Math.max(Math.ceil(Math.log10(Math.max(...positive, 1))), low + 1);
  const ticks = Array.from({ length: high - low + 1 }, (_, index) => 10 ** (low + index));
  // A zero cannot sit on a log axis, so it is drawn on the bottom line.
  return { fraction: (value) => (Math.log10(Math.max(value, 10 ** low)) - low) / (high - low), ticks };
}

/** Returns the smallest of 1, 2 or 5 times a power of ten that is at least `raw`. */
function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const factor of [1, 2, 5, 10]) if (factor * power >= raw) return factor * power;
  return 10 * power;
}

function evenTicks(min: number, max: number): Array<{ value: number; label: string }> {
  const step = niceStep((max - min) / 8);
  const ticks: Array<{ value: number; label: string }> = [];
  for (let value = Math.ceil(min / step) * step; value <= max + step / 1000; value += step) ticks.push({ value, label: formatTick(value) });
  return ticks;
}

function formatTick(value: number): string {
  return Number(value.toPrecision(6)).toString();
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
