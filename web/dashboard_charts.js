// The traffic share of each process's variants over time: a stacked area
// chart per process, from the strategy statistics kept in page memory.

const palette = ['#3659d6', '#2e9d5b', '#e0a526', '#d6453d', '#8e5bd6', '#1aa3b8', '#d65ba8', '#6b7585'];
const share_window_ms = 30000;

// Adds this refresh's counters to the page's history of each process.
function record_shares(stats, now) {
  for (const s of stats) {
    const history = mesh.shares[s.process] || (mesh.shares[s.process] = []);
    const traffic = {};
    for (const v of s.variants || [])
      traffic[v.variant] = v.traffic || 0;
    history.push({time: now, decisions: s.decisions || 0, traffic});
    if (history.length > mesh.max_points)
      history.splice(0, history.length - mesh.max_points);
  }
}

// The share of each variant at point i: over the last 30 s when there were
// decisions then, else since the node started (the counters' own share).
function shares_at(history, i, variants) {
  const p = history[i];
  let j = i;
  while (j > 0 && history[j - 1].time >= p.time - share_window_ms)
    --j;
  const q = history[j];
  const recent = p.decisions - q.decisions;
  const out = {};
  for (const v of variants) {
    const now = p.traffic[v] || 0, then = q.traffic[v] || 0;
    out[v] = recent > 0 && now >= then ? (now - then) / recent
           : p.decisions > 0 ? now / p.decisions : 0;
  }
  return out;
}

function share_chart(process, history, variants) {
  const width = 520, height = 100, top = 6, bottom = 16;
  const chart = svg_el('svg', {class: 'share-chart', 'data-process': process,
                               viewBox: `0 0 ${width} ${height}`, role: 'img',
                               'aria-label': 'traffic share of ' + process});
  const last = history[history.length - 1];
  const span = Math.max(60000, last.time - history[0].time);
  const x = t => width - ((last.time - t) / span) * width;
  const y = share => top + (1 - share) * (height - top - bottom);
  chart.append(svg_el('line', {class: 'axis', x1: 0, x2: width, y1: y(0), y2: y(0)}),
               svg_el('line', {class: 'axis', x1: 0, x2: width, y1: y(1), y2: y(1)}),
               svg_el('text', {class: 'axis-label', x: 2, y: height - 3},
                      '-' + Math.round(span / 1000) + ' s'),
               svg_el('text', {class: 'axis-label', x: width - 2, y: height - 3,
                               'text-anchor': 'end'}, 'now'));
  // One point alone is drawn as a flat band over the whole width.
  const points = history.length > 1 ? history.map((p, i) => ({t: p.time, s: shares_at(history, i, variants)}))
    : [{t: last.time - span, s: shares_at(history, 0, variants)}, {t: last.time, s: shares_at(history, 0, variants)}];
  const below = points.map(() => 0);
  variants.forEach((v, k) => {
    const lower = below.slice();
    points.forEach((p, i) => { below[i] += p.s[v]; });
    const upper_path = points.map((p, i) => `${x(p.t).toFixed(1)},${y(below[i]).toFixed(1)}`);
    const lower_path = points.map((p, i) => `${x(p.t).toFixed(1)},${y(lower[i]).toFixed(1)}`).reverse();
    chart.append(svg_el('path', {class: 'share-area', 'data-variant': v, fill: palette[k % palette.length],
                                 'fill-opacity': 0.75, stroke: 'none',
                                 d: 'M ' + upper_path.join(' L ') + ' L ' + lower_path.join(' L ') + ' Z'},
                        svg_el('title', {}, v)));
  });
  return chart;
}

function render_strategies(stats, errors) {
  if (errors.manifests) {
    show('strategies-body', not_configured(errors.manifests, 'no process manifests'));
    return;
  }
  if (stats.length === 0) {
    show('strategies-body', empty('no process manifests (start the node with --manifests DIR)'));
    return;
  }
  const blocks = stats.slice().sort((a, b) => a.process.localeCompare(b.process)).map(s => {
    const history = mesh.shares[s.process] || [];
    const variants = (s.variants || []).map(v => v.variant);
    const current = history.length ? shares_at(history, history.length - 1, variants) : {};
    const legend = (s.variants || []).map((v, k) => el('span', {class: 'share-variant', 'data-variant': v.variant},
      el('span', {class: 'swatch', style: 'background:' + palette[k % palette.length]}),
      v.variant + ' ' + percent(current[v.variant]) + ' (' + (v.traffic || 0) + ' calls' +
      (v.posterior_mean !== undefined ? ', ' + (v.successes || 0) + ' ok / ' + (v.failures || 0) +
        ' failed, mean ' + v.posterior_mean.toFixed(2) : '') + ')'));
    return el('div', {class: 'share-block', 'data-process': s.process},
      el('div', {}, el('span', {class: 'share-title'}, s.process), ' ',
         el('span', {class: 'muted small'}, s.strategy + ' · ' + (s.decisions || 0) + ' decisions')),
      history.length && (s.decisions || 0) > 0 ? share_chart(s.process, history, variants)
        : el('div', {class: 'empty'}, 'no decisions yet'),
      el('div', {class: 'share-legend'}, legend));
  });
  show('strategies-body', blocks);
}
