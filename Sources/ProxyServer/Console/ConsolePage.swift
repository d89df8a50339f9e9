/// The web console (`GET /`): one self-contained HTML page (inline CSS and JS, no CDN, works offline).
///
/// The page asks for an admin key, keeps it in `sessionStorage` (`q2api.adminKey`) and sends it as
/// `Authorization: Bearer` on every call; a 401 or 403 from `/v2` sends it back to the sign-in form. It calls
/// `GET/POST /v2/accounts`, `POST /v2/accounts/{id}/enable|disable|refresh`, `DELETE /v2/accounts/{id}`,
/// `POST /v2/auth/start`, `GET /v2/auth/status/{authId}`, `GET /v2/config`, `POST /v2/reload`, `GET /v1/models`,
/// and from the playground `POST /v1/messages` or `POST /v1/responses` (streamed or not; "Continue" sends
/// `previous_response_id`). Server data reaches the DOM through `textContent` only.
enum ConsolePage {
    static let html: String = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <meta name="color-scheme" content="light dark">
        <title>q2api console</title>
        <link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E
          %3Crect width='32' height='32' rx='7' fill='%232563eb'/%3E
          %3Ctext x='16' y='21.5' font-size='14' font-family='sans-serif' font-weight='700' text-anchor='middle' fill='white'%3Eq2%3C/text%3E
          %3C/svg%3E">
        <style>
          :root {
            --bg: #f5f6f8; --card: #fff; --fg: #1d2127; --muted: #5f6b7a; --border: #d8dde4; --input: #fff;
            --accent: #2563eb; --accent-fg: #fff; --danger: #c62828; --danger-bg: #fdecea; --ok: #1b7f3b; --ok-bg: #e6f5eb;
            --warn: #9a5b00; --code-bg: #eef1f4; --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
            font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
          }
          @media (prefers-color-scheme: dark) {
            :root {
              --bg: #121418; --card: #1b1e24; --fg: #e5e8ec; --muted: #9aa5b3; --border: #2f343c; --input: #15181d;
              --accent: #5b8def; --danger: #ff7b72; --danger-bg: #3b1d1d; --ok: #5cc47c; --ok-bg: #16301f; --warn: #f0b35a; --code-bg: #14171b;
            }
          }
          * { box-sizing: border-box; }
          body { margin: 0; background: var(--bg); color: var(--fg); }
          [hidden] { display: none !important; }
          a { color: var(--accent); }
          code, pre, .mono { font-family: var(--mono); font-size: 0.9em; }
          .topbar {
            position: sticky; top: 0; z-index: 5; display: flex; align-items: center; gap: 1rem; flex-wrap: wrap;
            padding: 0.6rem 1rem; background: var(--card); border-bottom: 1px solid var(--border);
          }
          .brand { font-weight: 700; font-size: 1.05rem; }
          .topbar nav { display: flex; gap: 0.9rem; flex-wrap: wrap; flex: 1; }
          .topbar nav a { text-decoration: none; color: var(--muted); }
          .topbar nav a:hover, .topbar nav a:focus-visible { color: var(--accent); }
          .topbar #sign-out { margin-left: auto; }
          main, #app { max-width: 1200px; margin: 0 auto; display: grid; gap: 1rem; }
          main { padding: 1rem; }
          .card {
            background: var(--card); border: 1px solid var(--border); border-radius: 10px;
            padding: 1rem 1.1rem; scroll-margin-top: 4.5rem; min-width: 0;
          }
          .narrow { max-width: 26rem; margin: 3rem auto; width: 100%; }
          h1, h2, h3 { margin: 0 0 0.6rem; line-height: 1.2; }
          h1 { font-size: 1.3rem; } h2 { font-size: 1.15rem; } h3 { font-size: 1rem; }
          .card-head { display: flex; align-items: center; gap: 0.75rem; flex-wrap: wrap; margin-bottom: 0.6rem; }
          .card-head h2 { margin: 0; }
          .push { margin-left: auto; }
          .muted, .hint { color: var(--muted); }
          .hint { font-size: 0.85rem; margin: 0.3rem 0 0.8rem; }
          label { display: block; font-weight: 600; font-size: 0.88rem; margin: 0.6rem 0 0.25rem; }
          input, select, textarea {
            width: 100%; font: inherit; color: inherit; background: var(--input);
            border: 1px solid var(--border); border-radius: 7px; padding: 0.45rem 0.6rem;
          }
          textarea { resize: vertical; min-height: 5rem; }
          :focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
          button {
            font: inherit; font-weight: 600; cursor: pointer; border-radius: 7px; padding: 0.45rem 0.9rem;
            border: 1px solid var(--accent); background: var(--accent); color: var(--accent-fg);
          }
          button.secondary { background: transparent; color: var(--fg); border-color: var(--border); }
          button.danger { background: transparent; color: var(--danger); border-color: var(--danger); }
          button.small { padding: 0.2rem 0.55rem; font-size: 0.82rem; }
          button:disabled { opacity: 0.45; cursor: not-allowed; }
          label.check { display: inline-flex; align-items: center; gap: 0.35rem; margin: 0; }
          label.check input { width: auto; margin: 0; }
          .actions-row { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; margin-top: 0.8rem; }
          .alert {
            border-radius: 7px; padding: 0.5rem 0.7rem; margin: 0.6rem 0; border: 1px solid var(--border);
            white-space: pre-wrap; overflow-wrap: anywhere;
          }
          .alert.error, .alert[data-kind="error"] { background: var(--danger-bg); color: var(--danger); border-color: var(--danger); }
          .alert[data-kind="ok"] { background: var(--ok-bg); color: var(--ok); border-color: var(--ok); }
          .alert[data-kind="pending"] { background: var(--code-bg); color: var(--muted); }
          .visually-hidden { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
          #accounts-filter { max-width: 18rem; }
          .table-wrap { overflow-x: auto; border: 1px solid var(--border); border-radius: 8px; }
          table { border-collapse: collapse; width: 100%; min-width: 860px; }
          th, td { text-align: left; padding: 0.45rem 0.6rem; border-bottom: 1px solid var(--border); vertical-align: top; }
          tbody tr:last-child td { border-bottom: 0; }
          th { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.03em; color: var(--muted); white-space: nowrap; }
          th button.sort { all: unset; cursor: pointer; }
          th[aria-sort="ascending"] button.sort::after { content: " \25B2"; }
          th[aria-sort="descending"] button.sort::after { content: " \25BC"; }
          td[data-col="actions"], td[data-col="id"] { white-space: nowrap; }
          td[data-col="actions"] button + button, td[data-col="actions"] .tip { margin-left: 0.3rem; }
          .num { font-variant-numeric: tabular-nums; }
          .bad { color: var(--danger); }
          .tag { font-size: 0.78rem; padding: 0.05rem 0.45rem; border-radius: 999px; border: 1px solid var(--border); color: var(--muted); }
          .pill { font-weight: 600; }
          .pill[data-state="active"] { color: var(--ok); }
          .pill[data-state="cooling"], .pill[data-state="quota_exhausted"] { color: var(--warn); }
          .pill[data-state="suspended"], .pill[data-state="refresh_failed"] { color: var(--danger); }
          .pill[data-state="disabled"] { color: var(--muted); }
          .split { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(min(300px, 100%), 1fr)); }
          .panel { border: 1px solid var(--border); border-radius: 8px; padding: 0.8rem 0.9rem; min-width: 0; }
          .two { display: grid; gap: 0 0.8rem; grid-template-columns: repeat(auto-fit, minmax(min(200px, 100%), 1fr)); }
          #device-flow ol { padding-left: 1.2rem; margin: 0.8rem 0 0.4rem; }
          #device-link { overflow-wrap: anywhere; }
          #device-code {
            font-size: 1.25rem; font-weight: 700; letter-spacing: 0.12em; background: var(--code-bg); padding: 0.1rem 0.5rem; border-radius: 6px;
          }
          #device-countdown { font-variant-numeric: tabular-nums; font-weight: 600; }
          dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.35rem 1rem; margin: 0; }
          dl.facts dt { color: var(--muted); }
          dl.facts dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
          #config-last-error { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; font-family: inherit; }
          #config-last-error.errbox {
            font-family: var(--mono); background: var(--danger-bg); color: var(--danger);
            border: 1px solid var(--danger); border-radius: 7px; padding: 0.5rem 0.7rem;
          }
          details { margin-top: 0.8rem; }
          summary { cursor: pointer; font-weight: 600; }
          pre.json, .output {
            background: var(--code-bg); border: 1px solid var(--border); border-radius: 8px; padding: 0.7rem; overflow: auto; margin: 0.6rem 0 0;
          }
          pre.json { max-height: 28rem; }
          .output { min-height: 6rem; max-height: 32rem; }
          .output[data-state="idle"]:empty::before { content: "The reply streams here."; color: var(--muted); }
          .output .block { display: block; white-space: pre-wrap; overflow-wrap: anywhere; }
          .output .block + .block { margin-top: 0.6rem; }
          .output .thinking { color: var(--muted); font-style: italic; border-left: 3px solid var(--border); padding-left: 0.6rem; }
          .output .tool { font-family: var(--mono); font-size: 0.88em; color: var(--muted); }
          #status-line {
            position: fixed; left: 50%; bottom: 1rem; transform: translateX(-50%); z-index: 10; max-width: min(40rem, calc(100vw - 2rem));
            margin: 0; box-shadow: 0 4px 18px rgba(0, 0, 0, 0.18); cursor: pointer;
          }
          @media (max-width: 600px) {
            main { padding: 0.6rem; }
            .card { padding: 0.8rem; }
            .topbar nav { order: 3; flex-basis: 100%; }
            #accounts-filter { max-width: none; }
            .narrow { margin: 1rem auto; }
          }
        </style>
        </head>
        <body>
        <header class="topbar">
          <span class="brand">q2api console</span>
          <nav id="nav" aria-label="Sections" hidden>
            <a href="#accounts">Accounts</a>
            <a href="#add-account">Add account</a>
            <a href="#config">Config</a>
            <a href="#playground">Playground</a>
          </nav>
          <button id="sign-out" type="button" class="secondary small" hidden>Sign out</button>
        </header>
        <main>
          <section id="sign-in-view" class="card narrow" aria-labelledby="sign-in-title" hidden>
            <h1 id="sign-in-title">Sign in</h1>
            <form id="sign-in-form" novalidate>
              <label for="admin-key">Admin key</label>
              <input id="admin-key" name="admin-key" type="password" autocomplete="current-password" spellcheck="false">
              <p class="hint">One of <code>admin_keys</code> in q2api.yaml. It stays in this tab's session storage.</p>
              <div id="sign-in-error" class="alert error" role="alert" hidden></div>
              <button id="sign-in" type="submit">Sign in</button>
            </form>
          </section>

          <div id="app" hidden>
            <section id="accounts" class="card" aria-labelledby="accounts-title">
              <div class="card-head">
                <h2 id="accounts-title">Accounts</h2>
                <span id="accounts-summary" class="muted"></span>
                <label class="visually-hidden" for="accounts-filter">Filter accounts</label>
                <input id="accounts-filter" class="push" type="search" placeholder="Filter by label, id, state…" autocomplete="off">
              </div>
              <div class="table-wrap">
                <table id="accounts-table">
                  <caption class="visually-hidden">Accounts, refreshed every 3 seconds</caption>
                  <thead>
                    <tr>
                      <th scope="col" aria-sort="none"><button type="button" class="sort" data-sort="label">Label</button></th>
                      <th scope="col" aria-sort="none"><button type="button" class="sort" data-sort="id">ID</button></th>
                      <th scope="col" aria-sort="none"><button type="button" class="sort" data-sort="source">Source</button></th>
                      <th scope="col" aria-sort="none"><button type="button" class="sort" data-sort="state">State</button></th>
                      <th scope="col" aria-sort="none"><button type="button" class="sort" data-sort="counts">OK / failed</button></th>
                      <th scope="col" aria-sort="none"><button type="button" class="sort" data-sort="expiry">Token expiry</button></th>
                      <th scope="col" aria-sort="none"><button type="button" class="sort" data-sort="inflight">In flight</button></th>
                      <th scope="col">Actions</th>
                    </tr>
                  </thead>
                  <tbody id="accounts-body"></tbody>
                </table>
              </div>
              <p id="accounts-empty" class="muted" hidden></p>
              <p id="accounts-error" class="alert error" role="alert" hidden></p>
            </section>

            <section id="add-account" class="card" aria-labelledby="add-title">
              <h2 id="add-title">Add account</h2>
              <div class="split">
                <div class="panel" role="group" aria-labelledby="device-title">
                  <h3 id="device-title">Device login</h3>
                  <p class="hint">Sign in with AWS Builder ID or IAM Identity Center in another tab; the account is added when you approve.</p>
                  <form id="device-form">
                    <label for="device-label">Label</label>
                    <input id="device-label" name="label" type="text" placeholder="e.g. Work account" autocomplete="off">
                    <div class="actions-row">
                      <button id="device-start" type="submit">Start device login</button>
                      <button id="device-cancel" type="button" class="secondary" hidden>Cancel</button>
                    </div>
                  </form>
                  <div id="device-flow" hidden>
                    <ol>
                      <li>Open <a id="device-link" href="#" target="_blank" rel="noopener noreferrer"></a></li>
                      <li>Check that it shows the code <code id="device-code"></code> and approve.</li>
                    </ol>
                    <p>Code expires in <span id="device-countdown">–</span></p>
                  </div>
                  <p id="device-status" class="alert" role="status" aria-live="polite" data-status="" hidden></p>
                </div>

                <div class="panel" role="group" aria-labelledby="manual-title">
                  <h3 id="manual-title">Manual credentials</h3>
                  <p class="hint">From an existing OIDC client registration and refresh token.</p>
                  <form id="manual-form" autocomplete="off">
                    <div class="two">
                      <div>
                        <label for="manual-id">ID <span class="muted">(optional)</span></label>
                        <input id="manual-id" name="id" type="text" spellcheck="false">
                      </div>
                      <div>
                        <label for="manual-label">Label</label>
                        <input id="manual-label" name="label" type="text">
                      </div>
                    </div>
                    <label for="manual-client-id">Client ID</label>
                    <input id="manual-client-id" name="client_id" type="text" spellcheck="false" required>
                    <label for="manual-client-secret">Client secret</label>
                    <input id="manual-client-secret" name="client_secret" type="password" autocomplete="new-password" required>
                    <label for="manual-refresh-token">Refresh token</label>
                    <input id="manual-refresh-token" name="refresh_token" type="password" autocomplete="new-password" required>
                    <label for="manual-profile-arn">Profile ARN <span class="muted">(optional, organisation accounts)</span></label>
                    <input id="manual-profile-arn" name="profile_arn" type="text" spellcheck="false">
                    <div class="actions-row"><button id="manual-submit" type="submit">Add account</button></div>
                  </form>
                  <p id="manual-result" class="alert" role="status" aria-live="polite" hidden></p>
                </div>
              </div>
            </section>

            <section id="config" class="card" aria-labelledby="config-title">
              <div class="card-head">
                <h2 id="config-title">Configuration</h2>
                <button id="config-refresh" type="button" class="secondary small push">Refresh</button>
                <button id="reload-button" type="button" class="small">Reload config</button>
              </div>
              <dl class="facts">
                <dt>Generation</dt><dd id="config-generation" class="num">–</dd>
                <dt>File</dt><dd id="config-source-path" class="mono">–</dd>
                <dt>Last reload</dt><dd id="config-last-reload">–</dd>
                <dt>Last error</dt><dd><pre id="config-last-error">none</pre></dd>
              </dl>
              <p id="reload-result" class="alert" role="status" aria-live="polite" hidden></p>
              <details id="config-details">
                <summary>Effective configuration (secrets redacted)</summary>
                <pre id="config-json" class="json"></pre>
              </details>
            </section>

            <section id="playground" class="card" aria-labelledby="chat-title">
              <h2 id="chat-title">Chat playground</h2>
              <form id="chat-form">
                <div class="two">
                  <div>
                    <label for="chat-api">API</label>
                    <select id="chat-api">
                      <option value="messages">Claude Messages</option>
                      <option value="responses">OpenAI Responses</option>
                    </select>
                  </div>
                  <div>
                    <label for="chat-model">Model</label>
                    <select id="chat-model"></select>
                  </div>
                  <div>
                    <label for="chat-account">Account</label>
                    <select id="chat-account"><option value="">any account</option></select>
                  </div>
                </div>
                <label for="chat-system">System / instructions <span class="muted">(optional)</span></label>
                <input id="chat-system" type="text" autocomplete="off">
                <label for="chat-input">Message</label>
                <textarea id="chat-input" rows="4" placeholder="Say hello… (Ctrl+Enter sends)"></textarea>
                <div class="actions-row">
                  <label class="check"><input id="chat-stream" type="checkbox" checked> Stream</label>
                  <label class="check" data-api="responses" hidden><input id="chat-reasoning" type="checkbox"> Reasoning summary</label>
                </div>
                <div class="actions-row">
                  <button id="chat-send" type="submit">Send</button>
                  <button id="chat-continue" type="button" class="secondary" data-api="responses" hidden disabled
                    title="Sends the message with previous_response_id of the last stored response">Continue</button>
                  <button id="chat-stop" type="button" class="secondary" disabled>Stop</button>
                  <span id="chat-meta" class="muted" aria-live="polite"></span>
                </div>
              </form>
              <div id="chat-output" class="output" data-state="idle" role="log" aria-label="Reply"></div>
            </section>
          </div>
        </main>
        <p id="status-line" class="alert" role="status" aria-live="polite" title="Click to dismiss" hidden></p>

        <script>
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
              await loadAccounts();
              renderConfigTimes();
              schedulePoll();
            }, POLL_MS);
          }

          document.addEventListener('visibilitychange', () => {
            if (document.hidden) { clearTimeout(acc.timer); return; }
            if (session.get() && !$('app').hidden) loadAccounts().then(schedulePoll);
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
            for (const col of ['label', 'id', 'source', 'state', 'counts', 'expiry', 'inflight']) {
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

          function tickDevice() {
            const left = Math.max(0, Math.round((dev.deadline - Date.now()) / 1000));
            $('device-countdown').textContent = left > 0 ? Math.floor(left / 60) + ':' + String(left % 60).padStart(2, '0') : 'expired';
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
            /** `done · reason · N in / M out tokens · id`. */
            function done(reason, input, output, id) {
              const bits = ['done'];
              if (reason) bits.push(reason);
              if (input != null || output != null) bits.push((input ?? '?') + ' in / ' + (output ?? '?') + ' out tokens');
              if (id) bits.push(id);
              end('done', bits.join(' · '));
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
            for (const id of ['manual-result', 'reload-result', 'status-line']) $(id).hidden = true;
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

          if (session.get()) enterApp();
          else showSignIn('');
        })();
        </script>
        </body>
        </html>
        """#
}
