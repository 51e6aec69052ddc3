// The small chart on each terminal's tile: bitrate as a line and loss as bars
// over the board's `history` (one sample per 5 s, the last 10 minutes), drawn
// as inline SVG. A UI module: it builds DOM nodes.

const SVG = 'http://www.w3.org/2000/svg';
/** The chart's coordinate box; the SVG scales to its tile. */
const WIDTH = 120;
const HEIGHT = 32;
/** The window drawn, as the server keeps it. */
export const WINDOW_MS = 10 * 60 * 1000;

/**
 * @typedef {{t: number, bitrate_bps: number | null, loss: number | null}} Sample
 */

/**
 * @param {string} name
 * @param {Record<string, string>} attrs
 * @returns {SVGElement}
 */
function svg(name, attrs) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

/** @returns {SVGSVGElement} an empty chart, to be filled by {@link drawChart} */
export function makeChart() {
  const root = /** @type {SVGSVGElement} */ (svg('svg', {
    class: 'chart', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: 'none', role: 'img',
  }));
  root.append(
    svg('line', { class: 'chart-warn', x1: '0', x2: String(WIDTH), y1: '0', y2: '0' }),
    svg('path', { class: 'chart-loss', d: '' }),
    svg('polyline', { class: 'chart-bitrate', points: '', 'vector-effect': 'non-scaling-stroke' }),
    svg('title', {}),
  );
  return root;
}

/**
 * Redraws `chart` for `history`, the last sample at the right edge at `now`.
 * Loss is scaled so that the warning threshold sits at a third of the height
 * (higher loss fills more, up to the top), bitrate to the window's peak.
 * @param {SVGSVGElement} chart made by {@link makeChart}
 * @param {Sample[]} history oldest first
 * @param {number} now unix ms (the board's `at`)
 * @param {number} lossWarn the loss fraction that earns a warning
 * @param {string} label the chart's accessible name
 */
export function drawChart(chart, history, now, lossWarn, label) {
  const x = (/** @type {number} */ t) => Math.max(0, WIDTH - ((now - t) / WINDOW_MS) * WIDTH);
  const recent = history.filter((s) => now - s.t <= WINDOW_MS);
  const peak = Math.max(1, ...recent.map((s) => s.bitrate_bps ?? 0));
  const lossTop = Math.max(3 * lossWarn, ...recent.map((s) => s.loss ?? 0));
  const bar = WIDTH / (WINDOW_MS / 5000);
  const [warn, loss, bitrate, title] = /** @type {SVGElement[]} */ ([...chart.children]);
  const warnY = (HEIGHT - (lossWarn / lossTop) * HEIGHT).toFixed(1);
  warn.setAttribute('y1', warnY);
  warn.setAttribute('y2', warnY);
  loss.setAttribute('d', recent
    .filter((s) => (s.loss ?? 0) > 0)
    .map((s) => {
      const h = (/** @type {number} */ (s.loss) / lossTop) * HEIGHT;
      return `M${(x(s.t) - bar).toFixed(1)} ${HEIGHT}h${bar.toFixed(1)}v${(-h).toFixed(1)}h${(-bar).toFixed(1)}z`;
    })
    .join(''));
  bitrate.setAttribute('points', recent
    .filter((s) => s.bitrate_bps !== null && s.bitrate_bps !== undefined)
    .map((s) => `${x(s.t).toFixed(1)},${(HEIGHT - 1 - (/** @type {number} */ (s.bitrate_bps) / peak) * (HEIGHT - 2)).toFixed(1)}`)
    .join(' '));
  title.textContent = label;
  chart.setAttribute('aria-label', label);
}
