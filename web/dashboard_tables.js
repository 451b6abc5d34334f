// The tables: handlers with live rates, the front doors' requests, topic
// routes and dispatchers, job queues and dead letters, workflow runs.

// calls/s of each handler from the change of its counter since the last
// refresh (null on the first refresh or after a counter reset).
function handler_rates(handlers, now) {
  const rates = {}, calls = {};
  for (const h of handlers) {
    const n = (h.stats && h.stats.calls) || 0;
    calls[h.handler] = n;
    const before = mesh.previous && mesh.previous.calls[h.handler];
    const seconds = mesh.previous ? (now - mesh.previous.time) / 1000 : 0;
    rates[h.handler] = before !== undefined && seconds > 0 && n >= before
      ? (n - before) / seconds : null;
  }
  return {rates, calls};
}

function render_handlers(handlers, now) {
  const list = Array.isArray(handlers) ? handlers.slice() : [];
  list.sort((a, b) => a.handler.localeCompare(b.handler));
  const {rates, calls} = handler_rates(list, now);
  set_text('handler-count', list.length);
  if (list.length === 0) {
    show('handlers-body', empty('no handlers registered on this node'));
    return calls;
  }
  const top = Math.max(1, ...Object.values(rates).filter(r => r !== null));
  const rows = list.map(h => {
    const s = h.stats || {}, lat = s.latency || {}, rate = rates[h.handler];
    return el('tr', {class: 'handler-row' + (h.active === false ? ' inactive' : ''),
                     'data-handler': h.handler},
      el('td', {}, h.handler), el('td', {}, h.kind || ''),
      num_cell(s.calls || 0),
      el('td', {class: 'num', 'data-rate': rate === null ? '' : rate.toFixed(3)}, format_rate(rate),
         el('span', {class: 'bar', style: 'width:' + Math.round(40 * (rate || 0) / top) + 'px'})),
      num_cell(s.errors || 0), num_cell(s.timeouts || 0),
      num_cell(lat.count ? format_us(lat.p50_us) : '–'),
      num_cell(lat.count ? format_us(lat.p99_us) : '–'),
      num_cell((s.running || 0) + ' / ' + (s.queued || 0)));
  });
  show('handlers-body', table(['handler', 'kind', {text: 'calls', num: true},
                               {text: 'calls/s', num: true}, {text: 'errors', num: true},
                               {text: 'timeouts', num: true}, {text: 'p50', num: true},
                               {text: 'p99', num: true}, {text: 'running / queued', num: true}],
                              rows));
  return calls;
}

// Requests through the HTTP API (by verb and route) and the gRPC door (by
// method), from status' http_requests and grpc_calls; the busiest first.
function render_doors(status) {
  const rows = [];
  const add = (door, name, r, ok) => {
    const handled = r.handled || {}, lat = r.latency || {};
    let not_ok = 0;
    for (const [code, n] of Object.entries(handled)) if (!ok(code)) not_ok += n;
    rows.push({door, name, started: r.started || 0, not_ok, in_flight: r.in_flight || 0, lat});
  };
  for (const r of (status && status.http_requests) || [])
    add('http', r.verb + ' ' + r.route, r, code => code.startsWith('2'));
  for (const r of (status && status.grpc_calls) || [])
    if (r.started) add('grpc', r.service + '/' + r.method, r, code => code === 'OK');
  if (rows.length === 0) {
    show('doors-body', empty('no requests yet'));
    return;
  }
  rows.sort((a, b) => b.started - a.started || a.name.localeCompare(b.name));
  show('doors-body', table(['door', 'request', {text: 'requests', num: true},
                            {text: 'not ok', num: true}, {text: 'in flight', num: true},
                            {text: 'p50', num: true}, {text: 'p99', num: true}],
    rows.map(r => el('tr', {class: 'door-row', 'data-door': r.door, 'data-request': r.name},
      el('td', {}, r.door), el('td', {}, r.name), num_cell(r.started), num_cell(r.not_ok),
      num_cell(r.in_flight), num_cell(r.lat.count ? format_us(r.lat.p50_us) : '–'),
      num_cell(r.lat.count ? format_us(r.lat.p99_us) : '–')))));
}

// A section the node does not run (no --jobs, no --workflows) answers
// `unavailable` in the node's own words, e.g. "node n1 has no task
// dispatcher (start it with --jobs DIR)": shown in the section. Any other
// failure is in the banner; the section only points there.
function not_configured(error, what) {
  if (error && error.status === 'unavailable')
    return empty(what + ': ' + error.message);
  return empty('cannot show this: ' + ((error && error.status) || 'error') + ' (see above)');
}

function render_routes(routes, metrics, errors) {
  if (errors.routes) {
    show('routes-body', not_configured(errors.routes, 'no topic routes'));
    render_fanout([]);
  } else {
    const list = (routes && routes.routes) || [];
    render_fanout(list);
    if (list.length === 0) {
      show('routes-body', empty('no topic routes'));
    } else {
      const rows = list.map(r => el('tr', {class: 'route-row', 'data-route': r.route_id,
                                           'data-node': r.node},
        el('td', {}, r.route_id), el('td', {}, r.pattern), el('td', {}, r.message_type || '*'),
        el('td', {}, r.dispatcher_id), el('td', {}, r.node),
        el('td', {}, r.enabled === false ? pill('disabled') : pill('active'))));
      show('routes-body', table(['route', 'pattern', 'type', 'dispatcher', 'node', ''], rows));
    }
  }
  const dispatchers = (metrics && metrics.dispatchers) || [];
  if (errors.metrics || dispatchers.length === 0) {
    show('dispatchers-body', errors.metrics ? not_configured(errors.metrics, 'no dispatchers')
                                            : empty('no dispatchers on this node'));
    return;
  }
  const rows = dispatchers.map(d => {
    const lat = d.latency_us || {};
    return el('tr', {class: 'dispatcher-row', 'data-dispatcher': d.dispatcher_id},
      el('td', {}, d.dispatcher_id), num_cell(d.executions || 0), num_cell(d.errors || 0),
      num_cell(d.timeouts || 0), num_cell(percent(d.error_rate)),
      num_cell(d.executions ? format_us(lat.p50) : '–'),
      num_cell(d.executions ? format_us(lat.p99) : '–'));
  });
  show('dispatchers-body',
       el('div', {class: 'muted small'}, (metrics.publishes || 0) + ' publishes, ' +
          percent(metrics.success_rate) + ' successful'),
       table(['dispatcher', {text: 'runs', num: true}, {text: 'errors', num: true},
              {text: 'timeouts', num: true}, {text: 'error rate', num: true},
              {text: 'p50', num: true}, {text: 'p99', num: true}], rows));
}

function render_jobs(jobs, dead, errors) {
  if (errors.jobs) {
    show('jobs-body', not_configured(errors.jobs, 'no jobs configured'));
  } else {
    const list = (jobs && jobs.jobs) || [];
    if (list.length === 0) {
      show('jobs-body', empty('no jobs configured'));
    } else {
      const top = Math.max(1, ...list.map(j => j.queued || 0));
      const rows = list.map(j => el('tr', {class: 'job-row', 'data-job': j.id},
        el('td', {title: j.kind || j.runtime || ''}, j.id),
        el('td', {class: 'wrap'}, j.target || ''),
        el('td', {}, pill(j.paused ? 'paused' : j.status || 'active'),
           j.unreadable ? el('span', {class: 'pill failed', title: 'stored tasks that cannot be read (see the node\'s log)'},
                             j.unreadable + ' unreadable') : null),
        el('td', {class: 'num'}, j.queued || 0,
           el('span', {class: 'bar', style: 'width:' + Math.round(40 * (j.queued || 0) / top) + 'px'})),
        num_cell(j.in_flight || 0), num_cell(j.done || 0), num_cell(j.dead || 0),
        num_cell(j.failures || 0), num_cell(j.oldest_age_ms ? format_ms(j.oldest_age_ms) : '–')));
      show('jobs-body', table(['job', 'target', 'status', {text: 'queued', num: true},
                               {text: 'in flight', num: true}, {text: 'done', num: true},
                               {text: 'dead', num: true}, {text: 'failures', num: true},
                               {text: 'oldest', num: true}], rows));
    }
  }
  if (errors.dead_letters) {
    show('dead-letters-body', not_configured(errors.dead_letters, 'no dead letters'));
    return;
  }
  const letters = Array.isArray(dead) ? dead : [];
  if (letters.length === 0) {
    show('dead-letters-body', empty('no dead letters'));
    return;
  }
  const rows = letters.slice(0, 50).map(t => {
    const last = (t.history || [])[t.history ? t.history.length - 1 : 0] || {};
    return el('tr', {class: 'dead-letter-row', 'data-task': t.id, 'data-job': t.job},
      el('td', {title: 'dataset ' + (t.dataset || '')}, t.id), el('td', {}, t.job),
      num_cell(t.attempts || 0), el('td', {}, ago(t.created_ms)),
      el('td', {class: 'wrap error'}, last.error || last.status || ''));
  });
  show('dead-letters-body',
       letters.length > 50 ? el('div', {class: 'muted small'}, 'the first 50 of ' + letters.length) : null,
       table(['task', 'job', {text: 'attempts', num: true}, 'created', 'last error'], rows));
}

function render_runs(runs, errors) {
  if (errors.runs) {
    show('runs-body', not_configured(errors.runs, 'no workflows configured'));
    return;
  }
  const list = ((runs && runs.runs) || []).slice()
    .sort((a, b) => (b.started_ms || 0) - (a.started_ms || 0));
  if (list.length === 0) {
    show('runs-body', empty('no workflow runs yet'));
    return;
  }
  const rows = list.map(r => el('tr', {class: 'run-row', 'data-run': r.id, 'data-status': r.status},
    el('td', {}, r.id), el('td', {}, r.workflow), el('td', {}, pill(r.status)),
    el('td', {}, ago(r.started_ms)),
    num_cell(r.duration_ms !== undefined ? format_ms(r.duration_ms) : '–'),
    num_cell(r.steps || 0), el('td', {class: 'wrap'}, r.error || '')));
  show('runs-body', table(['run', 'workflow', 'status', 'started', {text: 'took', num: true},
                           {text: 'steps', num: true}, 'error'], rows));
}
