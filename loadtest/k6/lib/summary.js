/**
 * A short text summary of a k6 run for `handleSummary`: the thresholds with
 * their results, then the values of the metrics they name. Written here
 * instead of importing k6's remote jslib, because cluster runs may be offline.
 *
 * `data` is the object k6 passes to handleSummary:
 * `data.metrics[name] = { type, contains, values, thresholds: { expression: { ok } } }`.
 */

function formatNumber(value, contains) {
  if (typeof value !== 'number') return String(value);
  if (contains === 'time') return value.toFixed(3) + ' ms';
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(4);
}

/** Formats one metric's values in a stable order, for example `p(99)=4.210 ms`. */
export function formatMetricValues(metric) {
  const names = Object.keys(metric.values).sort();
  const parts = [];
  for (const name of names) {
    // A Rate's value is the share of true samples; show it as a percentage.
    const text = metric.type === 'rate' && name === 'rate' ? (metric.values[name] * 100).toFixed(2) + '%' : formatNumber(metric.values[name], metric.contains);
    parts.push(name + '=' + text);
  }
  return parts.join(' ');
}

/** Returns the base metric name of a threshold key such as `http_req_failed{scenario:wallet}`. */
export function baseMetricName(key) {
  const brace = key.indexOf('{');
  return brace === -1 ? key : key.slice(0, brace);
}

/**
 * Formats the run's thresholds and the metrics they name as lines of text
 * that end with a newline. `extraMetricNames` lists further metrics to show
 * when the run recorded them.
 */
export function formatSummary(data, title, extraMetricNames) {
  const metrics = data.metrics || {};
  const lines = [title];
  const durationMs = data.state && data.state.testRunDurationMs;
  if (typeof durationMs === 'number') lines.push('duration: ' + (durationMs / 1000).toFixed(1) + ' s');

  let failed = 0;
  const thresholdLines = [];
  const shown = [];
  for (const key of Object.keys(metrics).sort()) {
    const thresholds = metrics[key].thresholds;
    if (thresholds === undefined) continue;
    shown.push(key);
    for (const expression of Object.keys(thresholds)) {
      const ok = thresholds[expression].ok;
      if (!ok) failed += 1;
      thresholdLines.push('  ' + (ok ? 'ok    ' : 'FAILED') + ' ' + key + ' ' + expression);
    }
  }

  lines.push(failed === 0 ? 'thresholds: all passed' : 'thresholds: ' + failed + ' failed');
  for (const line of thresholdLines) lines.push(line);
  for (const name of extraMetricNames || []) {
    if (metrics[name] !== undefined && shown.indexOf(name) === -1) shown.push(name);
  }
  lines.push('metrics:');
  for (const key of shown) lines.push('  ' + key + ': ' + formatMetricValues(metrics[key]));
  return lines.join('\n') + '\n';
}
