'use strict';
// The page's state, the node's /v1 API, and small DOM helpers. Everything
// the node says is inserted as text (textContent, setAttribute), never as
// HTML, so a handler or topic name cannot inject markup.

const mesh = {
  refresh_ms: 2000,
  refreshes: 0,
  token: '',
  previous: null,   // the last refresh: {time, calls: {handler: n}, dispatched}
  shares: {},       // process -> [{time, decisions, traffic: {variant: n}, share: {...}}]
  max_points: 150,  // 5 minutes of history at one refresh every 2 s
};

// The token comes from the URL fragment (#token=...), which browsers never
// send to the server, or from the field in the header; it is kept for this
// tab only (sessionStorage) and removed from the address bar.
function read_token() {
  const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem('mesh.token', decodeURIComponent(match[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem('mesh.token') || '';
}

function set_token(token) {
  mesh.token = token;
  if (token)
    sessionStorage.setItem('mesh.token', token);
  else
    sessionStorage.removeItem('mesh.token');
}

// One API failure: the envelope's status and message, and how it came.
class api_error extends Error {
  constructor(cmd, status, message, extra) {
    super(message);
    this.cmd = cmd;
    this.status = status;
    Object.assign(this, extra || {});
  }
}

// GET /v1/CMD?args; resolves to the envelope's result, rejects with an
// api_error carrying the envelope's status (or "unreachable").
async function call(cmd, args) {
  const query = args ? '?' + new URLSearchParams(args).toString() : '';
  const headers = {Accept: 'application/json'};
  if (mesh.token)
    headers.Authorization = 'Bearer ' + mesh.token;
  let response;
  try {
    response = await fetch('/v1/' + cmd + query, {headers, cache: 'no-store'});
  } catch (e) {
    throw new api_error(cmd, 'unreachable', 'the node does not answer (' + e.message + ')');
  }
  let body;
  try {
    body = await response.json();
  } catch (e) {
    throw new api_error(cmd, 'internal', 'HTTP ' + response.status + ' without a JSON envelope');
  }
  if (!body || body.ok !== true)
    throw new api_error(cmd, (body && body.status) || 'internal',
                        (body && body.error) || 'HTTP ' + response.status,
                        {http: response.status, unauthenticated: !!(body && body.unauthenticated)});
  return body.result;
}

// el('td', {class: 'num'}, 'text', child, ...): an HTML element.
function el(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

// The same for SVG elements.
function svg_el(tag, attrs, ...children) {
  return fill(document.createElementNS('http://www.w3.org/2000/svg', tag), attrs, children);
}

function fill(node, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {}))
    if (value !== undefined && value !== null && value !== false)
      node.setAttribute(key, value === true ? '' : String(value));
  for (const child of children.flat())
    if (child !== undefined && child !== null)
      node.append(child instanceof Node ? child : String(child));
  return node;
}

// Replaces the content of #id.
function show(id, ...children) {
  const target = document.getElementById(id);
  target.replaceChildren(...children.flat().filter(c => c !== undefined && c !== null));
}

function set_text(id, text) {
  document.getElementById(id).textContent = String(text);
}

function empty(text) {
  return el('div', {class: 'empty'}, text);
}

// A table: headers ['name', {text: 'calls', num: true}], rows of <tr>.
function table(headers, rows) {
  const head = el('tr', {}, headers.map(h => typeof h === 'string'
    ? el('th', {}, h) : el('th', {class: h.num ? 'num' : null}, h.text)));
  return el('table', {}, el('thead', {}, head), el('tbody', {}, rows));
}

function num_cell(value) {
  return el('td', {class: 'num'}, value);
}

function pill(text) {
  return el('span', {class: 'pill ' + String(text).replace(/[^a-z_]/gi, '')}, text);
}

// 5.1 µs, 12.3 ms, 1.20 s.
function format_us(us) {
  if (us === undefined || us === null || isNaN(us)) return '–';
  if (us < 1000) return us.toFixed(us < 10 ? 1 : 0) + ' µs';
  if (us < 1e6) return (us / 1000).toFixed(us < 10000 ? 2 : 1) + ' ms';
  return (us / 1e6).toFixed(2) + ' s';
}

function format_ms(ms) {
  return ms === undefined || ms === null ? '–' : format_us(ms * 1000);
}

function format_rate(rate) {
  if (rate === null || rate === undefined) return '–';
  return rate >= 100 ? rate.toFixed(0) : rate.toFixed(rate >= 10 ? 1 : 2);
}

function format_duration_s(s) {
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  const h = Math.floor(s / 3600);
  return h < 48 ? h + ' h ' + Math.floor((s % 3600) / 60) + ' min' : Math.floor(h / 24) + ' days';
}

// "12 s ago" from a unix time in milliseconds.
function ago(ms) {
  if (!ms) return '–';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return format_duration_s(s) + ' ago';
}

function percent(x) {
  return (100 * (x || 0)).toFixed(x >= 0.995 || x === 0 ? 0 : 1) + ' %';
}
