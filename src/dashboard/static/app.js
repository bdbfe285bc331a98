// The rpclb dashboard page: renders the views the server sends over server-sent events (about
// once a second) and keeps the last minute of each member's figures for the sparklines. Plain
// browser JavaScript, no dependency, no build step. Every name and figure from the cluster is
// put in the page as text (textContent), never as markup.

const HISTORY_MS = 60_000;
const SVG = 'http://www.w3.org/2000/svg';
/** Per member key: [{ t, callsPerS }] over the last minute. */
const recent = new Map();

// Opened as /?token=…: the server answered with a cookie, so take the token out of the address bar.
if (new URLSearchParams(location.search).has('token')) {
  window.history.replaceState(null, '', location.pathname);
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value !== undefined && value !== null) node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  }
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

const short = (name) => name.split('@')[0];
const pct = (ratio) => `${Math.round(ratio * 100)}%`;
const ms = (value) =>
  value === undefined ? '–' : value < 10 ? value.toFixed(2) : value.toFixed(1);

function duration(totalMs) {
  const s = Math.floor(totalMs / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

function bar(ratio, title) {
  const fill = el('span');
  fill.style.width = `${Math.max(0, Math.min(1, ratio)) * 100}%`;
  return el('span', { class: 'bar', title }, fill);
}

function sparkline(points, max) {
  const width = 120;
  const height = 22;
  const chart = svg('svg', { class: 'spark', width, height, viewBox: `0 0 ${width} ${height}` });
  if (points.length > 1) {
    const now = points[points.length - 1].t;
    // Up to a minute: a young series is stretched over at least 10 s, not squeezed to the right.
    const span = Math.min(HISTORY_MS, Math.max(10_000, now - points[0].t));
    const coords = points.map((p) => {
      const x = width - ((now - p.t) / span) * width;
      const y = height - 1 - (max > 0 ? (p.v / max) * (height - 2) : 0);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    chart.append(svg('polyline', { points: coords.join(' ') }));
  }
  return chart;
}

function renderGraph(view) {
  const graph = document.getElementById('graph');
  const nodes = view.nodes;
  const cx = 200;
  const cy = 150;
  const r = nodes.length > 1 ? 110 : 0;
  // The observer first, at the top; the others clockwise by name.
  const ordered = [...nodes].sort((a, b) => (b.observer ? 1 : 0) - (a.observer ? 1 : 0));
  const at = new Map();
  ordered.forEach((node, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / ordered.length;
    at.set(node.name, { x: cx + r * Math.cos(angle), y: cy + r * Math.sin(angle) });
  });
  const layer = document.createDocumentFragment();
  for (const link of view.links) {
    const a = at.get(link.a);
    const b = at.get(link.b);
    if (!a || !b) continue;
    const line = svg('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y });
    line.dataset.link = `${link.a}|${link.b}`;
    line.dataset.state = link.state;
    const title = svg('title', {});
    title.textContent = `${short(link.a)} – ${short(link.b)}: ${link.state}${link.rttMs === undefined ? '' : `, rtt ${ms(link.rttMs)} ms`}`;
    line.append(title);
    layer.append(line);
  }
  for (const node of ordered) {
    const p = at.get(node.name);
    const g = svg('g', {});
    g.dataset.node = node.name;
    g.dataset.state = node.state;
    g.dataset.observer = String(node.observer);
    const title = svg('title', {});
    title.textContent = `${node.name} (${node.state})${node.error ? `: ${node.error}` : ''}`;
    const label = svg('text', { x: p.x, y: p.y + (p.y < cy ? -16 : 24) });
    label.textContent = short(node.name);
    g.append(svg('circle', { cx: p.x, cy: p.y, r: 10 }), label, title);
    layer.append(g);
  }
  graph.replaceChildren(layer);
}

function renderNodes(view) {
  const head = el(
    'tr',
    {},
    ...['node', 'state', 'groups', 'uptime', 'Node.js', 'ELU', 'serving', 'waiting'].map((h) =>
      el('th', {}, h),
    ),
  );
  const rows = view.nodes.map((n) =>
    el(
      'tr',
      { 'data-node-row': n.name },
      el(
        'td',
        { title: n.address ?? '' },
        short(n.name),
        el('span', { class: 'host' }, n.name.slice(short(n.name).length)),
        n.observer ? el('small', { class: 'me' }, ' this node') : null,
      ),
      el('td', { class: n.state === 'up' ? '' : 'bad', title: n.error ?? '' }, n.state),
      el('td', {}, ...n.groups.map((g) => el('span', { class: 'chip' }, g))),
      el('td', {}, n.runtime ? duration(n.runtime.uptimeMs) : '–'),
      el('td', {}, n.runtime ? n.runtime.nodeVersion : '–'),
      el('td', {}, n.elu === undefined ? '–' : pct(n.elu), n.elu === undefined ? null : bar(n.elu)),
      el('td', { class: 'num' }, n.serving ?? '–'),
      el('td', { class: 'num' }, n.pending ?? '–'),
    ),
  );
  document.getElementById('nodes').replaceChildren(head, ...rows);
}

function remember(key, t, value) {
  const points = recent.get(key) ?? [];
  points.push({ t, v: value });
  while (points.length > 0 && t - points[0].t > HISTORY_MS) points.shift();
  recent.set(key, points);
  return points;
}

function renderBalancer(view, lb) {
  const keyOf = (m) => `${lb.node}|${lb.name}|${m.node}`;
  const series = lb.members.map((m) => remember(keyOf(m), view.at, m.callsPerS));
  const maxRate = Math.max(1, ...series.flat().map((p) => p.v));
  const maxInFlight = Math.max(1, ...lb.members.map((m) => m.inFlight));
  const head = el(
    'tr',
    {},
    el('th', {}, 'member'),
    el('th', { class: 'num' }, 'in flight'),
    el('th', { class: 'num' }, 'calls/s (last minute)'),
    el('th', { class: 'num' }, 'p50 ms'),
    el('th', { class: 'num' }, 'p99 ms'),
    el('th', { class: 'num' }, 'errors'),
    el('th', {}, 'reported load'),
  );
  const rows = lb.members.map((m, i) =>
    el(
      'tr',
      { 'data-member': keyOf(m) },
      el('td', {}, short(m.node), m.ejected ? el('span', { class: 'bad' }, ' ejected') : null),
      el('td', { class: 'num in-flight' }, m.inFlight, bar(m.inFlight / maxInFlight)),
      el('td', { class: 'num calls-per-s' }, m.callsPerS.toFixed(1), sparkline(series[i], maxRate)),
      el('td', { class: 'num p50' }, ms(m.p50Ms)),
      el('td', { class: 'num p99' }, ms(m.p99Ms)),
      el(
        'td',
        {
          class: `num errors${m.errorRate ? ' bad' : ''}`,
          title: `${m.errors} of ${m.calls} calls`,
        },
        m.errorRate === null ? '–' : pct(m.errorRate),
      ),
      el(
        'td',
        { class: 'load' },
        m.load ? `${m.load.inFlight} serving, ELU ${pct(m.load.elu)}` : '–',
        m.load ? bar(m.load.elu) : null,
      ),
    ),
  );
  return el(
    'div',
    { class: 'balancer', 'data-balancer': `${lb.node}|${lb.name}` },
    el(
      'h3',
      {},
      `${lb.name} `,
      el('small', {}, `${lb.algorithm} on ${short(lb.node)}, ${lb.inFlight} in flight`),
    ),
    el('div', { class: 'scroll' }, el('table', {}, head, ...rows)),
  );
}

function renderBalancers(view) {
  const panels = view.balancers.map((lb) => renderBalancer(view, lb));
  document.getElementById('balancers').replaceChildren(...panels);
  document.getElementById('idle').textContent =
    view.idle.length > 0 ? `Idle balancers (no call yet): ${view.idle.join(', ')}` : '';
  // Members that left: forget their history after a minute.
  for (const [key, points] of recent) {
    if (view.at - points[points.length - 1].t > HISTORY_MS) recent.delete(key);
  }
}

function renderEvents(view) {
  const items = view.events.map((e) =>
    el('li', {}, el('time', {}, new Date(e.at).toLocaleTimeString()), e.text),
  );
  document.getElementById('events').replaceChildren(...items);
}

function setStatus(state, text) {
  const status = document.getElementById('status');
  status.dataset.state = state;
  status.textContent = text;
}

function render(view) {
  document.getElementById('observer').textContent = `as seen from ${view.observer}`;
  document.title = `rpclb · ${short(view.observer)}`;
  renderGraph(view);
  renderNodes(view);
  renderBalancers(view);
  renderEvents(view);
  setStatus('live', `live · ${new Date(view.at).toLocaleTimeString()}`);
  document.body.dataset.updated = String(view.at);
}

const events = new EventSource('events');
events.addEventListener('view', (e) => render(JSON.parse(e.data)));
events.addEventListener('failure', (e) =>
  setStatus('down', `snapshot failed: ${JSON.parse(e.data)}`),
);
events.addEventListener('error', () => setStatus('down', 'disconnected, retrying…'));
