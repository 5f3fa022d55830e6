// Small DOM and fetch helpers shared by every view. Text from events goes in through textContent only.
export const $ = (sel) => document.querySelector(sel);
export const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else if (k === 'style') e.style.cssText = v; else if (k === 'text') e.textContent = v; else if (k.startsWith('data-')) e.setAttribute(k, v); else e[k] = v;
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
};
const SVG = 'http://www.w3.org/2000/svg';
/** An SVG element; `text` becomes its textContent, every other attribute an attribute. */
export const svg = (tag, attrs = {}, ...children) => {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = v; else if (k === 'class') e.setAttribute('class', v); else if (v != null) e.setAttribute(k, String(v));
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
};
// The token comes in the address's fragment (#token=…, which no server receives) and is kept in
// this origin's sessionStorage for the tab, then sent as a header. Not a cookie: browsers send a
// cookie to every port of a host, so another user's server on 127.0.0.1 received it (SECURITY.md).
const TOKEN_KEY = 'cadre-token';
const given = new URLSearchParams(location.hash.slice(1)).get('token');
if (given) {
  sessionStorage.setItem(TOKEN_KEY, given);
  history.replaceState(null, '', `${location.pathname}${location.search}`);
}
export const authHeaders = () => {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { authorization: `Bearer ${token}` } : {};
};
/** The server refused this page's token (or it has none): said in words, not as "No agents yet". */
export class NoToken extends Error {
  constructor() {
    super('this page has no valid token for this dashboard: open the address cadre serve printed (it ends in #token=…); a restarted cadre serve makes a new one');
  }
}
const checked = async (path, r) => {
  if (r.status === 401) throw new NoToken();
  if (!r.ok) throw new Error(`${path}: ${r.status} ${(await r.json().catch(() => ({}))).error ?? ''}`);
  return r.json();
};
export const api = async (path) => checked(path, await fetch(path, { headers: authHeaders() }));
// Actions are POSTs carrying the CSRF token only a same-origin page can read (SECURITY.md).
let csrf = null;
export const act = async (path) => {
  csrf ??= (await api('/api/session')).csrf;
  return checked(path, await fetch(path, { method: 'POST', headers: { ...authHeaders(), 'x-cadre-csrf': csrf } }));
};
export const fmtTokens = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${Math.round(n / 1e3)}k` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n));
export const fmtUsd = (n) => (n === 0 ? '$0' : n < 0.01 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`);
export const fmtMs = (ms) => (ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
