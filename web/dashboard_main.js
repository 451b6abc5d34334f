// One refresh: ask the node everything at once, then draw it; again 2 s
// after the last answer (never two refreshes in flight).

// Sections a node may simply not run: their `unavailable` answer ("node n1
// has no task dispatcher (start it with --jobs DIR)") is shown in the
// section, not as an error.
const optional_sections = new Set(['routes', 'metrics', 'jobs', 'dead_letters', 'runs', 'manifests']);

async function fetch_all() {
  const commands = {status: null, peers: null, handlers: null, routes: null, metrics: null,
                    jobs: null, dead_letters: null, runs: {limit: 15}, manifests: null};
  const names = Object.keys(commands);
  const answers = await Promise.allSettled(names.map(n => call(n, commands[n])));
  const data = {}, errors = {};
  answers.forEach((a, i) => {
    if (a.status === 'fulfilled') data[names[i]] = a.value;
    else errors[names[i]] = a.reason;
  });
  data.strategies = [];
  const processes = (Array.isArray(data.manifests) ? data.manifests : [])
    .filter(m => m.status === 'ok' && m.process).map(m => m.process);
  const stats = await Promise.allSettled(processes.map(p => call('strategy_stats', {process: p})));
  stats.forEach((s, i) => {
    if (s.status === 'fulfilled') data.strategies.push(s.value);
    else errors['strategy_stats ' + processes[i]] = s.reason;
  });
  return {data, errors};
}

// The banner lists what went wrong in this refresh, in the node's words;
// a missing or wrong token gets one clear line instead.
function render_banner(errors) {
  const banner = document.getElementById('banner');
  const shown = Object.entries(errors).filter(([name, e]) =>
    !(optional_sections.has(name) && e.status === 'unavailable'));
  const lines = [];
  if (shown.some(([, e]) => e.unauthenticated || e.http === 401)) {
    lines.push((mesh.token ? 'The node refused the token' : 'The node needs its console token') +
               ' (401 unauthenticated): open this page as /#token=TOKEN or enter the token above.');
  } else if (shown.length && shown.every(([, e]) => e.status === 'unreachable')) {
    lines.push('Cannot reach the node: ' + shown[0][1].message + '. Retrying every 2 s.');
  } else {
    for (const [name, e] of shown)
      lines.push(name + ': ' + e.status + (e.http ? ' (HTTP ' + e.http + ')' : '') + ': ' + e.message);
  }
  banner.replaceChildren(...lines.map(l => el('div', {}, l)));
  banner.hidden = lines.length === 0;
  banner.dataset.errors = String(lines.length);
}

function render_status(status) {
  if (!status) return;
  set_text('node-id', status.id || '?');
  set_text('node-listen', status.listen ? 'on ' + status.listen : '');
  set_text('uptime', format_duration_s(status.uptime_s || 0));
  document.title = 'Mesh · ' + (status.id || 'dashboard');
  const router = status.router || {};
  set_text('retried', router.retried || 0);
  set_text('hedged', router.hedged || 0);
  set_text('ejections', router.ejections || 0);
}

function request_rate(status, now) {
  const n = status && status.router ? (status.router.dispatched || 0) : null;
  const p = mesh.previous;
  if (n === null || !p || p.dispatched === null || n < p.dispatched) return null;
  return (n - p.dispatched) / Math.max(0.001, (now - p.time) / 1000);
}

async function refresh() {
  const {data, errors} = await fetch_all();
  const now = Date.now();
  render_banner(errors);
  // A section whose call failed keeps what it showed last.
  if (data.status) {
    render_status(data.status);
    render_doors(data.status);
  }
  if (data.peers) render_cluster(data.status, data.peers);
  let calls = mesh.previous ? mesh.previous.calls : {};
  if (data.handlers) calls = render_handlers(data.handlers, now);
  set_text('request-rate', format_rate(request_rate(data.status, now)));
  render_routes(data.routes, data.metrics, errors);
  render_jobs(data.jobs, data.dead_letters, errors);
  render_runs(data.runs, errors);
  record_shares(data.strategies, now);
  render_strategies(data.strategies, errors);
  mesh.previous = {time: now, calls,
                   dispatched: data.status && data.status.router ? data.status.router.dispatched || 0 : null};
  mesh.refreshes += 1;
  document.body.dataset.refreshes = String(mesh.refreshes);
  set_text('updated', new Date(now).toLocaleTimeString());
}

async function loop() {
  try {
    await refresh();
  } catch (e) {
    // A bug in the page itself: say so rather than freeze silently.
    render_banner({page: {status: 'internal', message: String(e && e.stack || e)}});
  }
  setTimeout(loop, mesh.refresh_ms);
}

document.getElementById('token-form').addEventListener('submit', event => {
  event.preventDefault();
  set_token(document.getElementById('token').value.trim());
  mesh.previous = null;
});
mesh.token = read_token();
document.getElementById('token').value = mesh.token;
loop();
