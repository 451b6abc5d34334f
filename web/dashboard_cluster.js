// The cluster as a picture (this node and its peers, links coloured by the
// peer's state and labelled with shared namespaces), the peers table, and
// the fan-out of topics to dispatchers.

// "a, b, c +2": at most `max` names.
function short_list(names, max) {
  if (!names || names.length === 0) return 'no shared namespace';
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? shown + ' +' + (names.length - max) : shown;
}

function render_cluster(status, peers) {
  const map = document.getElementById('cluster-map');
  const width = 560, cx = width / 2, cy = 0, rx = 230, ry = 120;
  const list = Array.isArray(peers) ? peers : [];
  const links = [], nodes = [], labels = [];
  // Peers evenly around this node on an ellipse (the map is wide), turned
  // so that no link runs straight up through this node's own label.
  const start = list.length === 1 ? 0 : -Math.PI / 2 + Math.PI / list.length;
  let top = -40, bottom = 50;
  list.forEach((peer, i) => {
    const angle = start + (2 * Math.PI * i) / list.length;
    const x = cx + rx * Math.cos(angle), y = cy + ry * Math.sin(angle);
    const below = y >= cy - 1;
    top = Math.min(top, y - 40);
    bottom = Math.max(bottom, y + 44);
    const state = peer.state || 'unknown';
    links.push(svg_el('line', {class: 'link', 'data-peer': peer.id, 'data-state': state,
                               x1: cx, y1: cy, x2: x, y2: y},
                      svg_el('title', {}, peer.id + ': ' + state)));
    // The shared namespaces sit just above the middle of the link.
    labels.push(svg_el('text', {class: 'link-label', 'data-peer': peer.id, 'text-anchor': 'middle',
                                x: (cx + x) / 2, y: (cy + y) / 2 - 7},
                       short_list(peer.shared_namespaces, 3),
                       svg_el('title', {}, (peer.shared_namespaces || []).join(', '))));
    nodes.push(svg_el('circle', {class: 'node', 'data-node': peer.id, 'data-state': state,
                                 cx: x, cy: y, r: 18},
                      svg_el('title', {}, peer.id + ' (' + (peer.address || '') + ')')));
    nodes.push(svg_el('text', {class: 'node-label', 'text-anchor': 'middle',
                               x: x, y: y + (below ? 36 : -26)}, peer.id));
  });
  const self_id = (status && status.id) || 'this node';
  nodes.push(svg_el('circle', {class: 'node self', 'data-node': self_id, 'data-state': 'self',
                               cx: cx, cy: cy, r: 24}));
  nodes.push(svg_el('text', {class: 'node-label', 'text-anchor': 'middle', x: cx, y: cy + 42},
                    self_id));
  if (list.length === 0)
    labels.push(svg_el('text', {class: 'link-label', 'text-anchor': 'middle', x: cx, y: cy - 34},
                       'no peers: this node runs alone'));
  // The picture is as tall as what it holds.
  map.setAttribute('viewBox', `0 ${top} ${width} ${bottom - top}`);
  map.replaceChildren(...links, ...labels, ...nodes);

  set_text('node-count', 1 + list.length);
  set_text('peers-up', list.filter(p => p.state === 'up').length);
  if (list.length === 0) {
    show('peers-body', empty('no peers: this node runs alone (start others with --seeds)'));
    return;
  }
  const rows = list.map(p => el('tr', {class: 'peer-row', 'data-peer': p.id, 'data-state': p.state},
    el('td', {}, p.id), el('td', {}, p.address || ''), el('td', {}, pill(p.state)),
    num_cell(p.state_for_ms === undefined ? '–' : format_duration_s(Math.round(p.state_for_ms / 1000))),
    num_cell(p.watched === false ? 'by reports' : format_ms(p.last_heartbeat_ms)),
    num_cell(p.in_flight === undefined ? '–' : p.in_flight),
    el('td', {class: 'wrap'}, (p.shared_namespaces || []).join(', '))));
  show('peers-body', table(['peer', 'address', 'state', {text: 'for', num: true},
                            {text: 'last heartbeat', num: true}, {text: 'in flight', num: true},
                            'shared namespaces'], rows));
}

// Routes grouped by what a publish matches: pattern, category, message type.
function fanout_groups(routes) {
  const groups = new Map();
  for (const r of routes) {
    const key = [r.pattern, r.category, r.message_type || ''].join('\u0000');
    if (!groups.has(key))
      groups.set(key, {pattern: r.pattern, category: r.category,
                       message_type: r.message_type || '', targets: []});
    groups.get(key).targets.push(r);
  }
  return [...groups.values()].sort((a, b) => a.pattern.localeCompare(b.pattern));
}

// The fan-out tree: each topic pattern on the left, an edge to every
// dispatcher (on every node) a matching publish reaches.
function render_fanout(routes) {
  const chart = document.getElementById('fanout');
  const groups = fanout_groups(routes);
  const row = 20, gap = 14, left = 230;
  let y = 18;
  const parts = [];
  for (const g of groups) {
    const top = y, n = g.targets.length;
    const mid = top + ((n - 1) * row) / 2;
    const title = g.pattern.length > 30 ? g.pattern.slice(0, 29) + '…' : g.pattern;
    const kind = g.category + (g.message_type ? ' · ' + g.message_type : '');
    parts.push(svg_el('text', {class: 'fanout-topic', 'data-pattern': g.pattern, x: 6,
                               y: mid + (n > 1 ? 0 : -3)}, title,
                      svg_el('title', {}, g.pattern + ' (' + kind + ')')));
    parts.push(svg_el('text', {class: 'link-label', x: 6, y: mid + (n > 1 ? 14 : 11)}, kind));
    g.targets.forEach((t, i) => {
      const ty = top + i * row, disabled = t.enabled === false ? ' disabled' : '';
      parts.push(svg_el('path', {class: 'fanout-edge' + disabled,
                                 d: `M ${left - 8} ${mid} C ${left + 40} ${mid}, ${left + 40} ${ty}, ${left + 90} ${ty}`}));
      parts.push(svg_el('text', {class: 'fanout-target' + disabled, 'data-dispatcher': t.dispatcher_id,
                                 'data-node': t.node, x: left + 96, y: ty + 4},
                        t.dispatcher_id + ' @ ' + t.node));
    });
    y += n * row + gap;
  }
  chart.setAttribute('viewBox', `0 0 560 ${Math.max(y, 30)}`);
  chart.replaceChildren(...parts);
  chart.style.display = groups.length ? '' : 'none';
}
