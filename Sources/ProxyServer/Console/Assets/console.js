// The web console's script, served at /console/console.js (the page: console.html; the styles: console.css).
//
// It asks for an admin key, keeps it in sessionStorage (`q2api.adminKey`) and sends it as `Authorization: Bearer` on
// every call; a 401 or 403 from /v2 sends it back to the sign-in form. It calls GET/POST /v2/accounts,
// POST /v2/accounts/{id}/enable|disable|refresh, DELETE /v2/accounts/{id}, POST /v2/auth/start,
// GET /v2/auth/status/{authId}, GET /v2/config, POST /v2/reload, GET /v1/models, and from the playground
// POST /v1/messages or POST /v1/responses (streamed or not; "Continue" sends `previous_response_id`).
// Server data reaches the DOM through textContent only, and nothing here writes a style attribute or an inline
// handler: the page's CSP (`script-src 'self'; style-src 'self'`) would block them.
//
// After editing, run scripts/embed-assets (it compiles this file into the binary; a test fails until you do).
// scripts/test lints it with eslint (.eslintrc.json beside it).
(() => {
  'use strict';

  const KEY_NAME = 'q2api.adminKey';
  const POLL_MS = 3000;
  // Every path the console calls. Per-account actions: POST .../{id}/enable|disable|refresh, DELETE /v2/accounts/{id}.
  const EP = {
    accounts: '/v2/accounts', authStart: '/v2/auth/start', config: '/v2/config', reload: '/v2/reload',
    models: '/v1/models', messages: '/v1/messages', responses: '/v1/responses',
    account: (id) => '/v2/accounts/' + encodeURIComponent(id),
    accountAction: (id, verb) => EP.account(id) + '/' + verb,
    authStatus: (authId) => '/v2/auth/status/' + encodeURIComponent(authId),
    usage: (range, by) => '/v2/usage?range=' + encodeURIComponent(range) + '&by=' + encodeURIComponent(by),
  };
  const $ = (id) => document.getElementById(id);

  /** Builds an element; strings among the children become text nodes (never parsed as HTML). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') node.textContent = v;
      else if (k === 'class') node.className = v;
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  // ---- session & API ----------------------------------------------------------------------------

  const session = {
    get() { try { return sessionStorage.getItem(KEY_NAME) || ''; } catch { return ''; } },
    set(v) { sessionStorage.setItem(KEY_NAME, v); },
    clear() { try { sessionStorage.removeItem(KEY_NAME); sessionStorage.clear(); } catch { /* storage off */ } },
  };

  class ApiError extends Error {
    constructor(status, message, type) { super(message); this.status = status; this.type = type || ''; this.auth = false; }
  }

  /** The `message` of `{"error":{"type","message"}}` (also the Claude `{"type":"error",...}` form), else something readable. */
  function errorMessage(status, statusText, text, data) {
    const e = data && data.error;
    if (e && typeof e === 'object' && e.message) return String(e.message);
    if (typeof e === 'string' && e) return e;
    if (data && typeof data.message === 'string' && data.message) return data.message;
    const t = (text || '').trim();
    if (t && t.length <= 300 && t[0] !== '<') return t;
    return 'HTTP ' + status + (statusText ? ' ' + statusText : '');
  }

  function parseJSON(text) {
    if (!text) return null;
    try { return JSON.parse(text); } catch { return null; }
  }

  /** JSON call with the admin key as a bearer token. A 401/403 from /v2 signs out. */
  async function api(method, path, body) {
    const headers = { accept: 'application/json' };
    const key = session.get();
    if (key) headers.authorization = 'Bearer ' + key;
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (err) {
      throw new ApiError(0, 'Network error: the server did not answer (' + err.message + ')');
    }
    const text = await res.text().catch(() => '');
    const data = parseJSON(text);
    if (!res.ok) {
      const err = new ApiError(res.status, errorMessage(res.status, res.statusText, text, data), data && data.error && data.error.type);
      if ((res.status === 401 || res.status === 403) && path.startsWith('/v2/')) {
        err.auth = true;
        if (session.get() === key) signOut(err.message);
      }
      throw err;
    }
    return data;
  }

  // ---- status line & time -----------------------------------------------------------------------

  let statusTimer = 0;
  function flash(message, kind) {
    const line = $('status-line');
    line.textContent = message;
    line.dataset.kind = kind || 'ok';
    line.hidden = false;
    clearTimeout(statusTimer);
    if (kind !== 'error') statusTimer = setTimeout(() => { line.hidden = true; }, 6000);
  }
  $('status-line').addEventListener('click', () => { $('status-line').hidden = true; });

  function parseTime(v) {
    if (v === null || v === undefined || v === '') return null;
    if (typeof v === 'number') return v > 1e12 ? v : v * 1000;
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  }

  function relative(ms) {
    const d = Math.round((ms - Date.now()) / 1000);
    const a = Math.abs(d);
    if (a < 5) return 'just now';
    let s;
    if (a < 60) s = a + ' s';
    else if (a < 3600) s = Math.floor(a / 60) + ' min';
    else if (a < 86400) s = Math.floor(a / 3600) + ' h';
    else s = Math.floor(a / 86400) + ' d';
    return d < 0 ? s + ' ago' : 'in ' + s;
  }

  const absolute = (ms) => new Date(ms).toLocaleString();

  // ---- accounts ---------------------------------------------------------------------------------

  const acc = {
    list: [], byId: new Map(), rows: new Map(), parts: new WeakMap(), busy: new Set(),
    sort: { key: null, dir: 1 }, timer: 0, seq: 0, applied: 0,
  };

  function num(v) { const n = Number(v); return Number.isFinite(n) ? n : 0; }

  /** Tolerates snake_case and camelCase; /healthz uses the same names for the shared fields. */
  function normalize(a) {
    const c = a.counters || {};
    const state = String(a.state || a.status || 'unknown');
    return {
      id: String(a.id ?? ''),
      label: String(a.label ?? ''),
      source: String(a.source ?? ''),
      state,
      reason: a.reason ? String(a.reason) : '',
      since: parseTime(a.since ?? a.state_since ?? a.stateSince),
      until: parseTime(a.until),
      lastError: a.last_error || a.lastError || '',
      successes: num(a.successes ?? c.successes),
      failures: num(a.failures ?? c.failures),
      tokenExpires: parseTime(a.token_expires_at ?? a.token_expires ?? a.tokenExpiresAt),
      inFlight: num(a.in_flight ?? a.inFlight),
      enabled: typeof a.enabled === 'boolean' ? a.enabled : state !== 'disabled',
    };
  }

  function extractList(data) {
    if (Array.isArray(data)) return data;
    for (const k of ['accounts', 'data', 'items']) if (data && Array.isArray(data[k])) return data[k];
    return [];
  }

  async function loadAccounts() {
    if (!session.get()) return false;
    const mine = ++acc.seq;
    try {
      const data = await api('GET', EP.accounts);
      if (mine < acc.applied || !session.get()) return true;
      acc.applied = mine;
      acc.list = extractList(data).filter((a) => a && a.id !== undefined).map(normalize);
      acc.byId = new Map(acc.list.map((a) => [a.id, a]));
      $('accounts-error').hidden = true;
      renderAccounts();
      fillAccountSelect();
      return true;
    } catch (err) {
      if (!err.auth) {
        $('accounts-error').textContent = 'Could not load accounts: ' + err.message;
        $('accounts-error').hidden = false;
      }
      return false;
    }
  }

  function schedulePoll() {
    clearTimeout(acc.timer);
    if (!session.get() || document.hidden) return;
    acc.timer = setTimeout(async () => {
      if (document.hidden || !session.get()) return;
      await Promise.all([loadAccounts(), loadUsage()]);
      renderConfigTimes();
      schedulePoll();
    }, POLL_MS);
  }

  document.addEventListener('visibilitychange', () => {
    if (document.hidden) { clearTimeout(acc.timer); return; }
    if (session.get() && !$('app').hidden) Promise.all([loadAccounts(), loadUsage()]).then(schedulePoll);
  });

  const SORTERS = {
    label: (a) => a.label.toLowerCase(), id: (a) => a.id.toLowerCase(), source: (a) => a.source, state: (a) => a.state,
    counts: (a) => a.successes * 1e6 - a.failures, inflight: (a) => a.inFlight,
    expiry: (a) => (a.tokenExpires === null ? Infinity : a.tokenExpires),
  };
  const cmp = (x, y) => (x < y ? -1 : x > y ? 1 : 0);

  function renderAccounts() {
    const body = $('accounts-body');
    const q = $('accounts-filter').value.trim().toLowerCase();
    let items = acc.list.map((a, i) => ({ a, i }));
    if (q) items = items.filter(({ a }) => [a.label, a.id, a.source, a.state, a.reason].some((s) => s.toLowerCase().includes(q)));
    if (acc.sort.key) {
      const key = SORTERS[acc.sort.key];
      items.sort((x, y) => cmp(key(x.a), key(y.a)) * acc.sort.dir || x.i - y.i);
    }
    const shown = new Set();
    let prev = null;
    for (const { a } of items) {
      let row = acc.rows.get(a.id);
      if (!row) { row = buildRow(a.id); acc.rows.set(a.id, row); }
      updateRow(row, a);
      shown.add(a.id);
      const at = prev ? prev.nextSibling : body.firstChild;
      if (at !== row) body.insertBefore(row, at);
      prev = row;
    }
    for (const [id, row] of acc.rows) {
      if (shown.has(id)) continue;
      row.remove();
      if (!acc.byId.has(id)) acc.rows.delete(id);
    }
    const empty = $('accounts-empty');
    const raw = $('accounts-filter').value.trim();
    empty.textContent = acc.list.length === 0 ? 'No accounts yet. Add one below.' : 'No account matches “' + raw + '”.';
    empty.hidden = items.length > 0;
    const active = acc.list.filter((a) => a.state === 'active').length;
    $('accounts-summary').textContent = acc.list.length + ' total · ' + active + ' active';
    for (const th of document.querySelectorAll('#accounts-table th[aria-sort]')) {
      const k = th.querySelector('button.sort').dataset.sort;
      th.setAttribute('aria-sort', k === acc.sort.key ? (acc.sort.dir > 0 ? 'ascending' : 'descending') : 'none');
    }
  }

  function buildRow(id) {
    const tr = el('tr', { 'data-account-id': id });
    const cells = {};
    for (const col of ['label', 'id', 'source', 'state', 'counts', 'expiry', 'inflight', 'spark']) {
      cells[col] = el('td', { 'data-col': col, class: col === 'counts' || col === 'inflight' ? 'num' : null });
      tr.append(cells[col]);
    }
    const toggle = el('button', { type: 'button', class: 'small secondary', 'data-action': 'toggle' });
    const refresh = el('button', { type: 'button', class: 'small secondary', 'data-action': 'refresh', text: 'Refresh' });
    const del = el('button', { type: 'button', class: 'small danger', 'data-action': 'delete', text: 'Delete' });
    const tip = el('span', { class: 'tip' }, del);
    tr.append(el('td', { 'data-col': 'actions' }, toggle, refresh, tip));
    acc.parts.set(tr, { cells, toggle, refresh, del, tip });
    return tr;
  }

  function updateRow(tr, a) {
    const { cells, toggle, refresh, del, tip } = acc.parts.get(tr);
    tr.dataset.state = a.state;
    tr.dataset.source = a.source;
    cells.label.textContent = a.label || '—';
    cells.id.replaceChildren(el('code', { text: a.id }));
    cells.source.replaceChildren(el('span', { class: 'tag', text: a.source || '?' }));
    let tail = a.reason ? ' — ' + a.reason : '';
    if (a.since !== null) tail += ' · ' + relative(a.since);
    cells.state.replaceChildren(el('span', { class: 'pill', 'data-state': a.state, text: a.state }), tail);
    const notes = [];
    if (a.since !== null) notes.push('since ' + absolute(a.since));
    if (a.until !== null) notes.push('until ' + absolute(a.until) + ' (' + relative(a.until) + ')');
    if (a.lastError) notes.push('last error: ' + a.lastError);
    cells.state.title = notes.join('\n');
    cells.counts.replaceChildren(el('span', { text: String(a.successes) }), ' / ',
      el('span', { class: a.failures > 0 ? 'bad' : null, text: String(a.failures) }));
    if (a.tokenExpires === null) {
      cells.expiry.textContent = '—';
      cells.expiry.title = 'no token refreshed yet';
    } else {
      cells.expiry.textContent = a.tokenExpires <= Date.now() ? 'expired ' + relative(a.tokenExpires) : relative(a.tokenExpires);
      cells.expiry.title = absolute(a.tokenExpires);
    }
    cells.inflight.textContent = String(a.inFlight);
    renderSpark(cells.spark, use.lastHour.get(a.id));
    const busy = acc.busy.has(a.id);
    const name = a.label ? a.label + ' (' + a.id + ')' : a.id;
    toggle.textContent = a.enabled ? 'Disable' : 'Enable';
    toggle.dataset.enabled = String(a.enabled);
    toggle.setAttribute('aria-label', (a.enabled ? 'Disable ' : 'Enable ') + name);
    toggle.disabled = busy;
    refresh.setAttribute('aria-label', 'Refresh the token of ' + name);
    refresh.disabled = busy;
    del.setAttribute('aria-label', 'Delete ' + name);
    if (a.source === 'state') {
      del.disabled = busy;
      del.removeAttribute('title');
      tip.removeAttribute('title');
    } else {
      del.disabled = true;
      del.title = 'declared in q2api.yaml';
      tip.title = 'declared in q2api.yaml';
    }
  }

  async function runAction(action, a) {
    let call, done, what;
    if (action === 'toggle' && a.enabled) {
      if (!confirm('Disable account ' + a.id + '? It stops taking requests until enabled again.')) return;
      call = () => api('POST', EP.accountAction(a.id, 'disable')); done = 'Account ' + a.id + ' disabled'; what = 'Disable';
    } else if (action === 'toggle') {
      call = () => api('POST', EP.accountAction(a.id, 'enable')); done = 'Account ' + a.id + ' enabled'; what = 'Enable';
    } else if (action === 'refresh') {
      call = () => api('POST', EP.accountAction(a.id, 'refresh')); done = 'Account ' + a.id + ': token refreshed'; what = 'Refresh';
    } else if (action === 'delete' && a.source === 'state') {
      if (!confirm('Delete account ' + a.id + '? Its state file and refresh token are removed; this cannot be undone.')) return;
      call = () => api('DELETE', EP.account(a.id)); done = 'Account ' + a.id + ' deleted'; what = 'Delete';
    } else {
      return;
    }
    acc.busy.add(a.id);
    renderAccounts();
    try {
      await call();
      flash(done, 'ok');
    } catch (err) {
      if (!err.auth) flash(what + ' ' + a.id + ' failed: ' + err.message, 'error');
    } finally {
      acc.busy.delete(a.id);
      if (session.get()) { await loadAccounts(); renderAccounts(); }
    }
  }

  $('accounts-body').addEventListener('click', (ev) => {
    const btn = ev.target.closest('button[data-action]');
    if (!btn || btn.disabled) return;
    const a = acc.byId.get(btn.closest('tr').dataset.accountId);
    if (a) runAction(btn.dataset.action, a);
  });
  $('accounts-filter').addEventListener('input', renderAccounts);
  for (const btn of document.querySelectorAll('#accounts-table button.sort')) {
    btn.addEventListener('click', () => {
      const k = btn.dataset.sort;
      acc.sort = { key: k, dir: acc.sort.key === k ? -acc.sort.dir : 1 };
      renderAccounts();
    });
  }

  // ---- device login -----------------------------------------------------------------------------

  const dev = { gen: 0, authId: '', poll: 0, tick: 0, deadline: 0, interval: 5000 };

  function setDeviceStatus(text, status) {
    const s = $('device-status');
    s.textContent = text;
    s.dataset.status = status;
    s.dataset.kind = status === 'completed' ? 'ok' : ['failed', 'expired', 'error'].includes(status) ? 'error' : 'pending';
    s.hidden = !text;
  }

  function safeUrl(s) {
    try {
      const u = new URL(String(s), location.href);
      return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
    } catch { return null; }
  }

  function stopDevice() {
    dev.gen++;
    clearTimeout(dev.poll);
    clearInterval(dev.tick);
    $('device-cancel').hidden = true;
  }

  /** What is left of the device code's life: `m:ss`, or `expired`. */
  function countdown(seconds) {
    return seconds > 0 ? Math.floor(seconds / 60) + ':' + String(seconds % 60).padStart(2, '0') : 'expired';
  }

  function tickDevice() {
    $('device-countdown').textContent = countdown(Math.max(0, Math.round((dev.deadline - Date.now()) / 1000)));
  }

  function finishDevice(status, text) {
    stopDevice();
    if (status !== 'completed') tickDevice();
    else $('device-countdown').textContent = 'done';
    setDeviceStatus(text, status);
  }

  async function startDevice(ev) {
    ev.preventDefault();
    stopDevice();
    const gen = dev.gen;
    $('device-flow').hidden = true;
    setDeviceStatus('Starting…', 'starting');
    $('device-start').disabled = true;
    try {
      const r = (await api('POST', EP.authStart, { label: $('device-label').value.trim(), enabled: true })) || {};
      if (gen !== dev.gen) return;
      dev.authId = String(r.authId || '');
      const shown = r.verificationUriComplete || r.verificationUri || '';
      const link = $('device-link');
      link.href = safeUrl(shown) || '#';
      link.textContent = shown;
      $('device-code').textContent = r.userCode || '';
      dev.deadline = Date.now() + (Number(r.expiresIn) || 600) * 1000;
      dev.interval = Math.max(1, Number(r.interval) || 5) * 1000;
      $('device-flow').hidden = false;
      $('device-cancel').hidden = false;
      setDeviceStatus('Waiting for approval…', 'pending');
      tickDevice();
      dev.tick = setInterval(tickDevice, 1000);
      dev.poll = setTimeout(() => pollDevice(gen), dev.interval);
    } catch (err) {
      if (gen === dev.gen && !err.auth) setDeviceStatus('Could not start device login: ' + err.message, 'error');
    } finally {
      $('device-start').disabled = false;
    }
  }

  // Keeps polling while the tab is hidden: the user approves in another tab.
  async function pollDevice(gen) {
    if (gen !== dev.gen) return;
    let r;
    try {
      r = (await api('GET', EP.authStatus(dev.authId))) || {};
    } catch (err) {
      if (gen !== dev.gen || err.auth) return;
      if (err.status === 404) { finishDevice('failed', 'Login failed: ' + err.message); return; }
      setDeviceStatus('Status check failed (' + err.message + '); retrying…', 'pending');
      dev.poll = setTimeout(() => pollDevice(gen), dev.interval);
      return;
    }
    if (gen !== dev.gen) return;
    if (typeof r.expiresIn === 'number') dev.deadline = Date.now() + r.expiresIn * 1000;
    if (r.status === 'completed') {
      finishDevice('completed', r.accountId ? 'Account ' + r.accountId + ' added' : 'Account added');
      loadAccounts();
    } else if (r.status === 'failed') {
      finishDevice('failed', 'Login failed: ' + (r.error || 'unknown error'));
    } else if (r.status === 'expired') {
      dev.deadline = 0;
      finishDevice('expired', 'The code expired' + (r.error ? ': ' + r.error : '') + '. Start again.');
    } else {
      setDeviceStatus('Waiting for approval…', 'pending');
      dev.poll = setTimeout(() => pollDevice(gen), dev.interval);
    }
  }

  $('device-form').addEventListener('submit', startDevice);
  $('device-cancel').addEventListener('click', () => {
    stopDevice();
    $('device-flow').hidden = true;
    setDeviceStatus('Cancelled.', 'cancelled');
  });

  // ---- manual credentials -----------------------------------------------------------------------

  function setResult(id, text, kind) {
    const p = $(id);
    p.textContent = text;
    p.dataset.kind = kind;
    p.hidden = !text;
  }

  $('manual-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = (id) => $(id).value.trim();
    const body = {
      label: v('manual-label'), client_id: v('manual-client-id'),
      client_secret: v('manual-client-secret'), refresh_token: v('manual-refresh-token'),
    };
    if (v('manual-id')) body.id = v('manual-id');
    if (v('manual-profile-arn')) body.profile_arn = v('manual-profile-arn');
    $('manual-submit').disabled = true;
    setResult('manual-result', 'Adding…', 'pending');
    try {
      const r = (await api('POST', EP.accounts, body)) || {};
      const id = r.id || (r.account && r.account.id) || body.id || '';
      $('manual-form').reset();
      setResult('manual-result', id ? 'Account ' + id + ' added' : 'Account added', 'ok');
      loadAccounts();
    } catch (err) {
      if (!err.auth) setResult('manual-result', 'Could not add the account: ' + err.message, 'error');
    } finally {
      $('manual-submit').disabled = false;
    }
  });

  // >>> import credentials (issue 19) ------------------------------------------------------------

  /** The pasted token file and client file, as POST /v2/accounts/import takes them. */
  function importBody(dryRun) {
    const body = { token_file: $('import-token').value.trim(), dry_run: dryRun };
    const client = $('import-client').value.trim();
    if (client) body.client_file = client;
    const label = $('import-label').value.trim();
    if (label) body.label = label;
    return body;
  }

  /** The reply's candidate as lines: what was found, secrets already redacted by the server. */
  function describeImport(r) {
    const c = (r && r.candidate) || {};
    const lines = [(c.format || 'Token file') + ' · kind ' + (c.kind || '?')];
    if (c.sign_in) lines.push('sign-in ' + c.sign_in);
    if (c.region) lines.push('region ' + c.region);
    if (c.client_id) lines.push('client id ' + c.client_id);
    if (c.refresh_token_fingerprint) lines.push('refresh token ' + c.refresh_token_fingerprint);
    if (c.access_token_expires_at) lines.push('access token expires ' + c.access_token_expires_at);
    if (c.profile_arn) lines.push('profile ARN ' + c.profile_arn);
    if (c.start_url) lines.push('start URL ' + c.start_url);
    return lines.join('\n');
  }

  async function runImport(dryRun) {
    if (!$('import-token').value.trim()) {
      setResult('import-result', 'Paste the JSON of a token file first.', 'error');
      return;
    }
    $('import-submit').disabled = true;
    $('import-preview-button').disabled = true;
    setResult('import-result', dryRun ? 'Reading…' : 'Refreshing and importing…', 'pending');
    try {
      const r = (await api('POST', '/v2/accounts/import', importBody(dryRun))) || {};
      $('import-preview').textContent = describeImport(r);
      $('import-preview').hidden = false;
      if (r.status === 'already_present') {
        setResult('import-result', 'Already imported as account ' + r.account_id + '; nothing to do.', 'ok');
      } else if (r.status === 'would_import') {
        setResult('import-result', 'Would import as account ' + r.account_id + ' (after a successful refresh).', 'ok');
      } else {
        $('import-form').reset();
        setResult('import-result', 'Imported as account ' + r.account_id + '.', 'ok');
        loadAccounts();
      }
    } catch (err) {
      if (!err.auth) setResult('import-result', 'Could not import: ' + err.message, 'error');
    } finally {
      $('import-submit').disabled = false;
      $('import-preview-button').disabled = false;
    }
  }

  $('import-preview-button').addEventListener('click', () => runImport(true));
  $('import-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    runImport(false);
  });

  // <<< import credentials -----------------------------------------------------------------------

  // ---- config -----------------------------------------------------------------------------------

  const cfg = { lastReload: null };

  function renderConfigTimes() {
    const t = cfg.lastReload;
    $('config-last-reload').textContent = t === null ? 'never' : relative(t) + ' (' + absolute(t) + ')';
  }

  async function loadConfig() {
    try {
      const c = (await api('GET', EP.config)) || {};
      $('config-generation').textContent = c.generation === undefined || c.generation === null ? '–' : String(c.generation);
      $('config-source-path').textContent = c.source_path || '–';
      cfg.lastReload = parseTime(c.last_reload_at);
      renderConfigTimes();
      const box = $('config-last-error');
      box.textContent = c.last_error ? String(c.last_error) : 'none';
      box.className = c.last_error ? 'errbox' : '';
      box.setAttribute('role', c.last_error ? 'alert' : 'none');
      $('config-json').textContent = JSON.stringify(c.config === undefined ? null : c.config, null, 2);
    } catch (err) {
      if (!err.auth) flash('Could not load the configuration: ' + err.message, 'error');
    }
  }

  $('config-refresh').addEventListener('click', loadConfig);
  $('reload-button').addEventListener('click', async () => {
    const btn = $('reload-button');
    btn.disabled = true;
    setResult('reload-result', 'Reloading…', 'pending');
    try {
      const r = (await api('POST', EP.reload)) || {};
      let text = 'Reloaded: generation ' + r.generation;
      if (r.changes) text += ' — ' + r.changes;
      setResult('reload-result', text, 'ok');
    } catch (err) {
      if (err.auth) return;
      setResult('reload-result', 'Reload rejected: ' + err.message, 'error');
    } finally {
      btn.disabled = false;
    }
    loadConfig();
    loadModels();
    loadAccounts();
  });

  // ---- chat playground --------------------------------------------------------------------------

  const chat = { controller: null, lastResponse: '' };

  async function loadModels() {
    const sel = $('chat-model');
    const before = sel.value;
    let ids = [];
    try {
      const r = await api('GET', EP.models);
      ids = (r && Array.isArray(r.data) ? r.data : []).map((m) => m && m.id).filter(Boolean).map(String);
    } catch (err) {
      sel.replaceChildren(el('option', { value: '', text: 'models unavailable' }));
      if (!err.auth) flash('Could not list models: ' + err.message, 'error');
      return;
    }
    if (ids.length === 0) { sel.replaceChildren(el('option', { value: '', text: 'no models configured' })); return; }
    sel.replaceChildren(...ids.map((id) => el('option', { value: id, text: id })));
    if (ids.includes(before)) sel.value = before;
  }

  function fillAccountSelect() {
    const sel = $('chat-account');
    const want = [''].concat(acc.list.map((a) => a.id));
    const have = Array.from(sel.options, (o) => o.value);
    if (want.join('\u0000') === have.join('\u0000')) return;
    const before = sel.value;
    sel.replaceChildren(el('option', { value: '', text: 'any account' }),
      ...acc.list.map((a) => el('option', { value: a.id, text: a.label && a.label !== a.id ? a.id + ' — ' + a.label : a.id })));
    sel.value = want.includes(before) ? before : '';
  }

  /** Incremental SSE reader: events end at a blank line; lines may be split across chunks. */
  async function readSSE(stream, onEvent) {
    const reader = stream.getReader();
    const decoder = new TextDecoder();
    let buf = '', name = '', data = [];
    const line = (l) => {
      if (l.endsWith('\r')) l = l.slice(0, -1);
      if (l === '') {
        if (data.length) onEvent(name || 'message', data.join('\n'));
        name = '';
        data = [];
        return;
      }
      if (l[0] === ':') return;
      const i = l.indexOf(':');
      const field = i < 0 ? l : l.slice(0, i);
      let value = i < 0 ? '' : l.slice(i + 1);
      if (value[0] === ' ') value = value.slice(1);
      if (field === 'event') name = value;
      else if (field === 'data') data.push(value);
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        line(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    }
    buf += decoder.decode();
    if (buf) line(buf);
    line('');
  }

  /** A finished reply's summary line: `done · reason · N in / M out tokens · id`; an unknown count shows as `?`. */
  function summaryLine(reason, input, output, id) {
    const bits = ['done'];
    if (reason) bits.push(reason);
    if (input != null || output != null) bits.push((input ?? '?') + ' in / ' + (output ?? '?') + ' out tokens');
    if (id) bits.push(id);
    return bits.join(' · ');
  }

  /** Renders one reply into #chat-output, block by block; `done` ends it with its summary line. */
  function chatView(out) {
    const meta = $('chat-meta');
    const blocks = new Map();
    let finished = false;

    function block(index, kind) {
      let b = blocks.get(index);
      if (!b || b.kind !== kind) {
        const node = document.createTextNode('');
        const span = el('span', { class: 'block ' + kind, 'data-testid': 'chat-' + kind }, node);
        out.append(span);
        b = { kind, node };
        blocks.set(index, b);
      }
      return b;
    }
    function append(index, kind, text) {
      if (!text) return;
      const stick = out.scrollHeight - out.scrollTop - out.clientHeight < 32;
      block(index, kind).node.appendData(text);
      if (stick) out.scrollTop = out.scrollHeight;
    }
    function end(state, note) {
      finished = true;
      out.dataset.state = state;
      meta.textContent = note;
    }
    function fail(message) {
      out.append(el('div', { class: 'alert error', role: 'alert', 'data-testid': 'chat-error', text: message }));
      end('error', 'error');
    }
    function done(reason, input, output, id) {
      end('done', summaryLine(reason, input, output, id));
    }
    return {
      block, append, fail, done, meta,
      get finished() { return finished; },
      aborted() { end('aborted', 'stopped'); },
      incomplete() { fail('The stream ended before its last event.'); },
    };
  }

  /** Claude Messages: the stream's events, or the whole message. */
  function messagesReader(view, model) {
    const usage = { input: null, output: null };
    let stopReason = '', id = '';
    return {
      event(type, d) {
        if (type === 'message_start') {
          const m = d.message || {};
          id = m.id || '';
          if (m.usage && m.usage.input_tokens !== undefined) usage.input = m.usage.input_tokens;
          view.meta.textContent = 'streaming from ' + (m.model || model) + '…';
        } else if (type === 'content_block_start') {
          const cb = d.content_block || {};
          if (cb.type === 'thinking' || cb.type === 'redacted_thinking') view.block(d.index, 'thinking');
          else if (cb.type === 'tool_use') view.append(d.index, 'tool', '[tool call ' + (cb.name || '') + '] ');
          else view.append(d.index, 'text', cb.text || '');
        } else if (type === 'content_block_delta') {
          const delta = d.delta || {};
          if (delta.type === 'text_delta') view.append(d.index, 'text', delta.text);
          else if (delta.type === 'thinking_delta') view.append(d.index, 'thinking', delta.thinking);
          else if (delta.type === 'input_json_delta') view.append(d.index, 'tool', delta.partial_json);
        } else if (type === 'message_delta') {
          if (d.delta && d.delta.stop_reason) stopReason = d.delta.stop_reason;
          if (d.usage && d.usage.output_tokens !== undefined) usage.output = d.usage.output_tokens;
        } else if (type === 'message_stop') {
          view.done(stopReason, usage.input, usage.output, id);
        } else if (type === 'error') {
          view.fail((d.error && d.error.message) || 'The stream reported an error.');
        }
      },
      body(m) {
        (m.content || []).forEach((cb, i) => {
          if (cb.type === 'thinking') view.append(i, 'thinking', cb.thinking);
          else if (cb.type === 'tool_use') view.append(i, 'tool', '[tool call ' + cb.name + '] ' + JSON.stringify(cb.input));
          else if (cb.type === 'text') view.append(i, 'text', cb.text);
        });
        const u = m.usage || {};
        view.done(m.stop_reason, u.input_tokens, u.output_tokens, m.id);
      },
    };
  }

  /** OpenAI Responses: the stream's events, or the whole response. A stored one is what "Continue" continues. */
  function responsesReader(view, model) {
    const tool = (item) => '[tool call ' + (item.name || '') + '] ';
    function finish(r) {
      if (r.status === 'failed') { view.fail((r.error && r.error.message) || 'The response failed.'); return; }
      if (r.store !== false && r.id) chat.lastResponse = r.id;
      const why = r.incomplete_details && r.incomplete_details.reason;
      const u = r.usage || {};
      view.done(why ? r.status + ': ' + why : r.status, u.input_tokens, u.output_tokens, r.id);
    }
    return {
      event(type, d) {
        if (type === 'response.created') {
          view.meta.textContent = 'streaming from ' + ((d.response && d.response.model) || model) + '…';
        } else if (type === 'response.output_item.added') {
          const item = d.item || {};
          if (item.type === 'function_call' || item.type === 'custom_tool_call') view.append(d.output_index, 'tool', tool(item));
        } else if (type === 'response.output_text.delta') {
          view.append(d.output_index, 'text', d.delta);
        } else if (type === 'response.reasoning_summary_text.delta') {
          view.append(d.output_index, 'thinking', d.delta);
        } else if (type === 'response.function_call_arguments.delta' || type === 'response.custom_tool_call_input.delta') {
          view.append(d.output_index, 'tool', d.delta);
        } else if (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') {
          finish(d.response || {});
        } else if (type === 'error') {
          view.fail(d.message || (d.error && d.error.message) || 'The stream reported an error.');
        }
      },
      body(r) {
        (r.output || []).forEach((item, i) => {
          if (item.type === 'reasoning') view.append(i, 'thinking', (item.summary || []).map((s) => s.text).join('\n\n'));
          else if (item.type === 'message') view.append(i, 'text', (item.content || []).map((c) => c.text || c.refusal || '').join(''));
          else if (item.type === 'function_call') view.append(i, 'tool', tool(item) + item.arguments);
          else if (item.type === 'custom_tool_call') view.append(i, 'tool', tool(item) + item.input);
        });
        finish(r);
      },
    };
  }

  function setChatBusy(busy) {
    $('chat-send').disabled = busy;
    $('chat-continue').disabled = busy || !chat.lastResponse;
    $('chat-stop').disabled = !busy;
    $('chat-output').setAttribute('aria-busy', String(busy));
  }

  /** Sends the message to the chosen API; `previous` is a response id to continue (Responses only). */
  async function sendChat(previous) {
    const key = session.get();
    const text = $('chat-input').value;
    if (chat.controller || !key) return;
    if (!text.trim()) { $('chat-input').focus(); return; }
    const responses = $('chat-api').value === 'responses';
    const model = $('chat-model').value;
    const stream = $('chat-stream').checked;
    const system = $('chat-system').value.trim();
    const headers = { 'content-type': 'application/json', authorization: 'Bearer ' + key };
    const account = $('chat-account').value;
    if (account) headers['x-q2api-account'] = account;
    let body;
    if (responses) {
      body = { model, stream, input: text };
      if (system) body.instructions = system;
      if ($('chat-reasoning').checked) body.reasoning = { summary: 'auto' };
      if (previous) body.previous_response_id = previous;
    } else {
      headers['anthropic-version'] = '2023-06-01';
      body = { model, max_tokens: 1024, stream, messages: [{ role: 'user', content: text }] };
      if (system) body.system = system;
    }
    const out = $('chat-output');
    out.replaceChildren();
    out.dataset.state = 'streaming';
    $('chat-meta').textContent = previous ? 'waiting (continuing ' + previous + ')…' : 'waiting…';
    const view = chatView(out);
    const reader = (responses ? responsesReader : messagesReader)(view, model);
    const controller = new AbortController();
    chat.controller = controller;
    setChatBusy(true);
    try {
      const init = { method: 'POST', headers, body: JSON.stringify(body), signal: controller.signal, cache: 'no-store' };
      const res = await fetch(responses ? EP.responses : EP.messages, init);
      const type = res.headers.get('content-type') || 'no content type';
      if (!res.ok) {
        const t = await res.text().catch(() => '');
        view.fail(errorMessage(res.status, res.statusText, t, parseJSON(t)));
      } else if (!stream) {
        const d = parseJSON(await res.text());
        if (d) reader.body(d);
        else view.fail('Expected JSON, got ' + type);
      } else if (!type.includes('text/event-stream') || !res.body) {
        view.fail('Expected an event stream, got ' + type);
      } else {
        await readSSE(res.body, (name, raw) => {
          const d = parseJSON(raw);
          if (d && !view.finished) reader.event(name && name !== 'message' ? name : d.type, d);
        });
        if (!view.finished) view.incomplete();
      }
    } catch (err) {
      if (err.name === 'AbortError') { if (!view.finished) view.aborted(); }
      else if (!view.finished) view.fail('Request failed: ' + err.message);
    } finally {
      if (chat.controller === controller) chat.controller = null;
      setChatBusy(false);
    }
  }

  $('chat-form').addEventListener('submit', (ev) => { ev.preventDefault(); sendChat(''); });
  $('chat-continue').addEventListener('click', () => sendChat(chat.lastResponse));
  $('chat-stop').addEventListener('click', () => { if (chat.controller) chat.controller.abort(); });
  $('chat-api').addEventListener('change', () => {
    for (const node of $('chat-form').querySelectorAll('[data-api]')) node.hidden = node.dataset.api !== $('chat-api').value;
  });
  $('chat-input').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); $('chat-form').requestSubmit(); }
  });

  // >>> usage (issue 18) -------------------------------------------------------------------------
  //
  // The Usage card and the accounts' last-hour sparklines, drawn from GET /v2/usage?range=&by= as SVG built here
  // (no chart library: the CSP and the offline page allow none). Geometry goes in attributes; every colour comes
  // from a class (.s0–.s7, .other, .fail, .throttle) whose CSS variable differs in light and dark. The helpers
  // that hold no state (niceScale, stackSeries, pickSeries, timeTicks, bucketLabel, formatCount, sparkPath) are
  // exported at the end for the browser test.

  const SVG_NS = 'http://www.w3.org/2000/svg';
  // Beyond this many groups the smallest ones are drawn as one "other" series: eight colours stay distinguishable.
  const MAX_SERIES = 8;
  const CHART = { width: 480, height: 180, left: 40, right: 8, top: 10, bottom: 22 };
  const SPARK = { width: 100, height: 22 };
  const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const LIMITS = [
    { key: 'requests_per_minute', current: 'requests_last_minute', label: 'requests / min' },
    { key: 'concurrent_streams', current: 'streams', label: 'streams' },
    { key: 'tokens_per_day', current: 'tokens_today', label: 'tokens today' },
  ];

  const use = { range: '24h', by: 'key', seq: 0, applied: 0, lastHour: new Map() };

  /** Builds an SVG element; as with el, strings among the children become text nodes. */
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') node.textContent = v;
      else node.setAttribute(k, String(v));
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  const r2 = (v) => Math.round(v * 100) / 100;
  const exact = (n) => num(n).toLocaleString('en-US');

  /** A tick label: 950, 1.2k, 3.4M, 1.5G (the tooltips give exact numbers). */
  function formatCount(n) {
    const v = num(n), a = Math.abs(v);
    const short = (x, unit) => (Math.round(x * 10) / 10).toFixed(1).replace(/\.0$/, '') + unit;
    if (a < 1000) return String(v);
    if (a < 1e6) return short(v / 1e3, 'k');
    if (a < 1e9) return short(v / 1e6, 'M');
    return short(v / 1e9, 'G');
  }

  /** A y axis from 0 to a round maximum at or above `max`, in 1, 2 or 5 × 10ⁿ steps (integers: these are counts). */
  function niceScale(max, count) {
    const want = count || 4;
    if (!(max > 0)) return { max: 1, step: 1, ticks: [0, 1] };
    const raw = max / want;
    const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = Math.max(1, [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw));
    const top = Math.ceil(max / step) * step;
    const ticks = [];
    for (let i = 0; i * step <= top; i++) ticks.push(i * step);
    return { max: top, step, ticks };
  }

  /** Stacks rows of values (one row a series): each value becomes [bottom, top], the first series at the bottom. */
  function stackSeries(rows) {
    const base = [];
    return rows.map((row) => row.map((v, i) => {
      const bottom = base[i] || 0;
      base[i] = bottom + num(v);
      return [bottom, base[i]];
    }));
  }

  /** The groups to draw: the `limit - 1` largest by requests (then by name) in name order, the rest merged as
   *  "other" (only when there are more than `limit`). Each names the series it sums, so every chart (requests,
   *  tokens) shows the same groups in the same colours. */
  function pickSeries(series, limit) {
    const total = (s) => (Array.isArray(s.requests) ? s.requests : []).reduce((a, b) => a + num(b), 0);
    const byName = (a, b) => cmp(String(a.name), String(b.name));
    if (series.length <= limit) return series.slice().sort(byName).map((s) => ({ name: String(s.name), members: [s] }));
    const ranked = series.slice().sort((a, b) => total(b) - total(a) || byName(a, b));
    const kept = ranked.slice(0, limit - 1).sort(byName).map((s) => ({ name: String(s.name), members: [s] }));
    const rest = ranked.slice(limit - 1);
    return kept.concat({ name: 'other (' + rest.length + ')', members: rest, other: true });
  }

  /** A picked group's values of `fields` (summed over its members and fields), one a bucket. */
  function groupValues(group, fields, length) {
    const out = new Array(length).fill(0);
    for (const s of group.members) {
      for (const f of fields) {
        const values = Array.isArray(s[f]) ? s[f] : [];
        for (let i = 0; i < length; i++) out[i] += num(values[i]);
      }
    }
    return out;
  }

  const utc = (seconds) => new Date(num(seconds) * 1000);
  const pad2 = (n) => String(n).padStart(2, '0');
  const dayLabel = (d) => d.getUTCDate() + ' ' + MONTHS[d.getUTCMonth()];

  /** The x axis's labelled buckets (UTC, as the server buckets them): 24 h every 4 hours (a day's first hour named
   *  by its date), 7 d each midnight (weekday and date), 30 d every 7th day back from today. */
  function timeTicks(buckets, bucketSeconds) {
    const ticks = [];
    buckets.forEach((t, i) => {
      const d = utc(t), h = d.getUTCHours();
      if (bucketSeconds >= 86400) {
        if ((buckets.length - 1 - i) % 7 === 0) ticks.push({ index: i, label: dayLabel(d) });
      } else if (buckets.length <= 48) {
        if (h % 4 === 0) ticks.push({ index: i, label: h === 0 ? dayLabel(d) : pad2(h) + ':00' });
      } else if (h === 0) {
        ticks.push({ index: i, label: DAYS[d.getUTCDay()] + ' ' + d.getUTCDate() });
      }
    });
    return ticks;
  }

  /** A bucket's span for a tooltip: `Mon 7 Dec 14:00–15:00 UTC`, or `Mon 7 Dec UTC` for a day. */
  function bucketLabel(t, bucketSeconds) {
    const d = utc(t);
    const day = DAYS[d.getUTCDay()] + ' ' + dayLabel(d);
    if (bucketSeconds >= 86400) return day + ' UTC';
    const end = utc(num(t) + bucketSeconds);
    return day + ' ' + pad2(d.getUTCHours()) + ':00–' + pad2(end.getUTCHours()) + ':00 UTC';
  }

  /** A sparkline's line and area paths for `values` in a `width` × `height` box (1 px margin; a flat zero line
   *  when all are zero). */
  function sparkPath(values, width, height) {
    const n = values.length;
    if (n === 0) return { line: '', area: '' };
    const max = Math.max(...values.map(num));
    const dx = n > 1 ? width / (n - 1) : 0;
    const points = values.map((v, i) => [r2(i * dx), r2(height - 1 - (max > 0 ? (num(v) / max) * (height - 2) : 0))]);
    const line = 'M' + points.map((p) => p[0] + ' ' + p[1]).join('L');
    return { line, area: line + 'L' + points[n - 1][0] + ' ' + height + 'L0 ' + height + 'Z' };
  }

  /** Bars over time into `node` (an <svg class="chart">): stacked, or side by side when `spec.grouped`.
   *  spec: {buckets, bucketSeconds, series: [{name, cls, values}], unit, empty}. Each series is a <g data-series>
   *  of one <rect data-bucket data-value> per non-zero bucket; a transparent column per bucket carries a <title>
   *  with the exact numbers; `empty` (a sentence) is written over an empty chart. */
  function barChart(node, spec) {
    const { width: W, height: H, left: L, right: R, top: T, bottom: B } = CHART;
    const n = spec.buckets.length;
    const plotW = W - L - R, plotH = H - T - B, band = n ? plotW / n : plotW;
    const k = spec.series.length;
    const stacked = spec.grouped
      ? spec.series.map((s) => s.values.map((v) => [0, num(v)]))
      : stackSeries(spec.series.map((s) => s.values));
    let max = 0;
    for (const rows of stacked) for (const [, top] of rows) max = Math.max(max, top);
    const scale = niceScale(max);
    const y = (v) => r2(T + plotH - (v / scale.max) * plotH);

    const grid = svg('g', { class: 'grid' });
    for (const t of scale.ticks) {
      grid.append(svg('line', { x1: L, x2: W - R, y1: y(t), y2: y(t) }),
        svg('text', { x: L - 6, y: y(t) + 4, 'text-anchor': 'end', text: formatCount(t) }));
    }
    const axis = svg('g', { class: 'axis' }, svg('line', { x1: L, x2: W - R, y1: T + plotH, y2: T + plotH }));
    for (const t of timeTicks(spec.buckets, spec.bucketSeconds)) {
      const x = r2(L + band * (t.index + 0.5));
      axis.append(svg('line', { x1: x, x2: x, y1: T + plotH, y2: T + plotH + 4 }),
        svg('text', { x, y: H - 4, 'text-anchor': 'middle', text: t.label }));
    }
    const slot = Math.max(1, band * 0.8), gap = (band - slot) / 2;
    const barW = spec.grouped ? slot / Math.max(1, k) : slot;
    const groups = spec.series.map((s, j) => {
      const g = svg('g', { class: 'series ' + s.cls, 'data-series': s.name });
      stacked[j].forEach(([bottom, top], i) => {
        if (top <= bottom) return;
        const x = L + band * i + gap + (spec.grouped ? j * barW : 0);
        g.append(svg('rect', {
          x: r2(x), y: y(top), width: r2(barW), height: r2(y(bottom) - y(top)), 'data-bucket': i, 'data-value': top - bottom,
        }));
      });
      return g;
    });
    const hits = svg('g', { class: 'hits' });
    spec.buckets.forEach((t, i) => {
      const lines = [bucketLabel(t, spec.bucketSeconds)];
      let sum = 0;
      for (const s of spec.series) {
        sum += num(s.values[i]);
        lines.push(s.name + ': ' + exact(s.values[i]));
      }
      if (!spec.grouped && k > 1) lines.push('total: ' + exact(sum));
      hits.append(svg('rect', { x: r2(L + band * i), y: T, width: r2(band), height: plotH, 'data-bucket': i },
        svg('title', { text: lines.join('\n') + (spec.unit ? ' ' + spec.unit : '') })));
    });
    const note = spec.empty
      ? svg('text', { class: 'empty-note', x: L + plotW / 2, y: T + plotH / 2, 'text-anchor': 'middle', text: spec.empty })
      : null;
    node.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    node.dataset.empty = String(Boolean(spec.empty));
    node.replaceChildren(grid, ...groups, axis, hits, ...(note ? [note] : []));
  }

  /** Horizontal bars into `node`, one a row: [{name, title, value}] (the accounts' streams in flight). */
  function rowChart(node, rows, empty) {
    const W = CHART.width, L = 140, R = 36, rowH = 26, T = 4, B = 20;
    const H = T + Math.max(1, rows.length) * rowH + B;
    const plotW = W - L - R;
    const scale = niceScale(Math.max(0, ...rows.map((r) => r.value)));
    const x = (v) => r2(L + (v / scale.max) * plotW);
    const grid = svg('g', { class: 'grid' });
    for (const t of scale.ticks) {
      grid.append(svg('line', { x1: x(t), x2: x(t), y1: T, y2: H - B }),
        svg('text', { x: x(t), y: H - 4, 'text-anchor': 'middle', text: formatCount(t) }));
    }
    const bars = svg('g', { class: 'series s0', 'data-series': 'in flight' });
    const labels = svg('g', { class: 'labels' });
    rows.forEach((r, i) => {
      const top = T + i * rowH;
      const name = r.name.length > 20 ? r.name.slice(0, 19) + '…' : r.name;
      labels.append(svg('text', { x: L - 8, y: top + rowH / 2 + 4, 'text-anchor': 'end', text: name }),
        svg('text', { class: 'value', x: x(r.value) + 5, y: top + rowH / 2 + 4, text: exact(r.value) }));
      bars.append(svg('rect', {
        x: L, y: top + 4, width: r2(x(r.value) - L), height: rowH - 8, 'data-row': r.name, 'data-value': r.value,
      }, svg('title', { text: r.title })));
    });
    const note = rows.length === 0
      ? svg('text', { class: 'empty-note', x: L + plotW / 2, y: T + rowH / 2 + 4, 'text-anchor': 'middle', text: empty })
      : null;
    node.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    node.dataset.empty = String(rows.length === 0);
    node.replaceChildren(grid, bars, labels, ...(note ? [note] : []));
  }

  function legend(list, series) {
    list.replaceChildren(...series.map((s) => el('li', { 'data-series': s.name }, el('span', { class: 'swatch ' + s.cls }), s.name)));
  }

  /** One key's limit: a <meter> against the limit, or "no limit". */
  function limitCell(current, limit, what) {
    const value = num(current);
    if (limit === null || limit === undefined) {
      return el('td', { class: 'limit', 'data-limit': what.key, 'data-value': value },
        el('span', { class: 'num', text: exact(value) }), ' ', el('span', { class: 'muted', text: '· no limit' }));
    }
    const max = Math.max(1, num(limit));
    const meter = el('meter', {
      min: 0, max, value: Math.min(value, max), low: max * 0.7, high: max * 0.9, optimum: 0,
      'aria-label': what.label + ': ' + value + ' of ' + max, title: exact(value) + ' of ' + exact(max) + ' ' + what.label,
    });
    return el('td', { class: 'limit', 'data-limit': what.key, 'data-value': value, 'data-max': max },
      meter, el('span', { class: 'num', text: formatCount(value) + ' / ' + formatCount(max) }));
  }

  function renderKeys(keys) {
    $('usage-keys-body').replaceChildren(...keys.map((key) => {
      const limits = key.limits || {}, current = key.current || {};
      const name = el('td', { 'data-col': 'key' }, el('code', { text: String(key.name) }));
      if (key.enabled === false) name.append(' ', el('span', { class: 'tag', text: 'disabled' }));
      if (Array.isArray(key.models)) name.title = 'models: ' + key.models.join(', ');
      return el('tr', { 'data-key': String(key.name) }, name,
        ...LIMITS.map((what) => limitCell(current[what.current], limits[what.key], what)));
    }));
    $('usage-keys-empty').hidden = keys.length > 0;
  }

  /** The accounts table's sparkline cell: the last hour's requests a minute, redrawn only when they change. */
  function renderSpark(cell, values) {
    const list = Array.isArray(values) ? values.map(num) : null;
    const signature = list ? list.join(',') : '';
    if (cell.dataset.spark === signature && cell.firstChild) return;
    cell.dataset.spark = signature;
    if (!list) { cell.replaceChildren(el('span', { class: 'muted', text: '—' })); return; }
    const { line, area } = sparkPath(list, SPARK.width, SPARK.height);
    const total = list.reduce((a, b) => a + b, 0);
    const peak = Math.max(0, ...list);
    cell.replaceChildren(svg('svg', {
      class: 'spark', viewBox: '0 0 ' + SPARK.width + ' ' + SPARK.height, width: SPARK.width, height: SPARK.height,
      role: 'img', 'aria-label': exact(total) + ' requests in the last hour',
    }, svg('title', { text: exact(total) + ' requests in the last hour, at most ' + exact(peak) + ' a minute' }),
    svg('path', { class: 'area', d: area }), svg('path', { class: 'line', d: line })));
  }

  function renderSparks() {
    for (const [id, row] of acc.rows) renderSpark(acc.parts.get(row).cells.spark, use.lastHour.get(id));
  }

  const groupName = (name) => (use.by === 'account' && name === '' ? '(no account)' : name);

  function renderUsage(data) {
    const buckets = Array.isArray(data.buckets) ? data.buckets : [];
    const bucketSeconds = num(data.bucket_seconds) || 3600;
    const series = Array.isArray(data.series) ? data.series : [];
    const totals = data.totals || {};
    const quiet = num(totals.requests) === 0 && num(totals.throttled) === 0;
    const empty = quiet ? 'No requests in this range' : '';
    const picked = pickSeries(series, MAX_SERIES).map((g, i) => ({ ...g, name: groupName(g.name), cls: g.other ? 'other' : 's' + (i % MAX_SERIES) }));
    const drawn = (fields) => picked.map((g) => ({ name: g.name, cls: g.cls, values: groupValues(g, fields, buckets.length) }));
    const requests = drawn(['requests']);
    const tokens = drawn(['input_tokens', 'output_tokens']);
    barChart($('usage-requests'), { buckets, bucketSeconds, series: requests, unit: '', empty });
    barChart($('usage-tokens'), { buckets, bucketSeconds, series: tokens, unit: '', empty });
    legend($('usage-requests-legend'), requests);
    legend($('usage-tokens-legend'), tokens);
    const all = [{ members: series }];
    const problems = [
      { name: 'failed', cls: 'fail', values: groupValues(all[0], ['failures'], buckets.length) },
      { name: 'throttled by a key limit', cls: 'throttle', values: groupValues(all[0], ['throttled'], buckets.length) },
    ];
    const none = num(totals.failures) === 0 && num(totals.throttled) === 0;
    barChart($('usage-failures'), {
      buckets, bucketSeconds, series: problems, grouped: true, unit: '', empty: quiet ? empty : none ? 'No failures in this range' : '',
    });
    legend($('usage-failures-legend'), problems);
    const accounts = (Array.isArray(data.accounts) ? data.accounts : []).map((a) => {
      const id = String(a.id ?? '');
      const label = a.label && a.label !== id ? String(a.label) : '';
      const value = num(a.in_flight);
      return { name: label ? label + ' (' + id + ')' : id, value, title: id + ': ' + exact(value) + ' in flight (' + (a.state || '?') + ')' };
    });
    rowChart($('usage-streams'), accounts, 'No accounts');
    renderKeys(Array.isArray(data.keys) ? data.keys : []);
    $('usage-summary').textContent = quiet ? empty : exact(totals.requests) + ' requests · ' + exact(totals.failures) + ' failed · '
      + exact(totals.throttled) + ' throttled · ' + formatCount(totals.input_tokens) + ' tokens in / '
      + formatCount(totals.output_tokens) + ' out';
    $('usage').dataset.range = use.range;
    $('usage').dataset.by = use.by;
    use.lastHour = new Map((Array.isArray(data.accounts) ? data.accounts : []).map((a) => [String(a.id ?? ''), a.last_hour]));
    renderSparks();
  }

  async function loadUsage() {
    if (!session.get()) return;
    const mine = ++use.seq;
    const { range, by } = use;
    try {
      const data = (await api('GET', EP.usage(range, by))) || {};
      if (mine < use.applied || !session.get() || range !== use.range || by !== use.by) return;
      use.applied = mine;
      $('usage-error').hidden = true;
      renderUsage(data);
    } catch (err) {
      if (mine < use.applied || err.auth) return;
      $('usage-error').textContent = 'Could not load usage: ' + err.message;
      $('usage-error').hidden = false;
    }
  }

  function pressSwitches() {
    for (const b of document.querySelectorAll('[data-usage-range]')) b.setAttribute('aria-pressed', String(b.dataset.usageRange === use.range));
    for (const b of document.querySelectorAll('[data-usage-by]')) b.setAttribute('aria-pressed', String(b.dataset.usageBy === use.by));
  }

  for (const b of document.querySelectorAll('[data-usage-range], [data-usage-by]')) {
    b.addEventListener('click', () => {
      if (b.dataset.usageRange) use.range = b.dataset.usageRange;
      if (b.dataset.usageBy) use.by = b.dataset.usageBy;
      pressSwitches();
      loadUsage();
    });
  }

  function resetUsage() {
    use.seq++;
    use.applied = use.seq;
    use.lastHour = new Map();
    for (const id of ['usage-requests', 'usage-tokens', 'usage-failures', 'usage-streams', 'usage-requests-legend',
      'usage-tokens-legend', 'usage-failures-legend', 'usage-keys-body']) $(id).replaceChildren();
    $('usage-summary').textContent = '';
    $('usage-error').hidden = true;
  }

  // <<< usage ------------------------------------------------------------------------------------

  // ---- sign-in / sign-out -----------------------------------------------------------------------

  function showSignIn(error) {
    $('app').hidden = true;
    $('nav').hidden = true;
    $('sign-out').hidden = true;
    $('sign-in-view').hidden = false;
    $('sign-in').disabled = false;
    const e = $('sign-in-error');
    e.textContent = error || '';
    e.hidden = !error;
    $('admin-key').value = '';
    $('admin-key').focus();
  }

  /** Stops every timer and request and forgets everything shown (the config JSON included). */
  function resetApp() {
    clearTimeout(acc.timer);
    resetUsage();
    stopDevice();
    if (chat.controller) chat.controller.abort();
    acc.list = [];
    acc.byId = new Map();
    acc.rows.clear();
    acc.seq++;
    acc.applied = acc.seq;
    $('accounts-body').replaceChildren();
    $('accounts-summary').textContent = '';
    $('accounts-error').hidden = true;
    $('device-flow').hidden = true;
    $('device-status').hidden = true;
    $('manual-form').reset();
    $('import-form').reset();
    for (const id of ['manual-result', 'import-result', 'import-preview', 'reload-result', 'status-line']) $(id).hidden = true;
    for (const id of ['config-generation', 'config-source-path', 'config-last-reload']) $(id).textContent = '–';
    $('config-last-error').textContent = 'none';
    $('config-last-error').className = '';
    $('config-json').textContent = '';
    chat.lastResponse = '';
    $('chat-continue').disabled = true;
    $('chat-output').replaceChildren();
    $('chat-output').dataset.state = 'idle';
    $('chat-meta').textContent = '';
    $('chat-model').replaceChildren();
    $('chat-account').replaceChildren(el('option', { value: '', text: 'any account' }));
  }

  function signOut(error) {
    session.clear();
    resetApp();
    showSignIn(error);
  }

  async function enterApp() {
    $('sign-in').disabled = true;
    await loadAccounts();
    if (!session.get()) return;
    $('sign-in-view').hidden = true;
    $('sign-in-error').hidden = true;
    $('app').hidden = false;
    $('nav').hidden = false;
    $('sign-out').hidden = false;
    schedulePoll();
    loadUsage();
    loadConfig();
    loadModels();
  }

  $('sign-in-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const key = $('admin-key').value.trim();
    if (!key) {
      $('sign-in-error').textContent = 'Enter an admin key.';
      $('sign-in-error').hidden = false;
      return;
    }
    session.set(key);
    $('admin-key').value = '';
    enterApp();
  });
  $('sign-out').addEventListener('click', () => signOut(''));

  // ---- for the browser test ---------------------------------------------------------------------

  // The helpers that hold no state, so that Tests/Conformance/test_console_browser.py can check their outputs in
  // the browser itself. Nothing here is secret or changes the page.
  window.q2apiConsole = Object.freeze({
    errorMessage, parseJSON, parseTime, relative, countdown, summaryLine, normalize, extractList, safeUrl, readSSE,
    messagesReader, endpoints: EP,
    niceScale, stackSeries, pickSeries, timeTicks, bucketLabel, formatCount, sparkPath,
  });

  if (session.get()) enterApp();
  else showSignIn('');
})();
