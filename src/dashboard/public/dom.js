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
// this page's memory only, then sent as a header: not a cookie (browsers send one to every port
// of a host, so another user's server on 127.0.0.1 received it), and not this origin's storage,
// which whatever binds the port after cadre serve stops can read (SECURITY.md). So a reload asks
// for the printed address again. Before the token goes out, first and after any drop, the server
// proves it knows it (/api/proof): the page sent it every second to whoever held the port next.
let token = null;
let trusted = false;
function takeTokenFromAddress() {
  const given = new URLSearchParams(location.hash.slice(1)).get('token');
  if (!given) return false;
  token = given;
  trusted = false;
  history.replaceState(null, '', `${location.pathname}${location.search}`);
  return true;
}
takeTokenFromAddress();
/** Calls `onNewToken` when the printed address is opened in this tab again (only its fragment changes: no reload). */
export const onTokenGiven = (onNewToken) => window.addEventListener('hashchange', () => { if (takeTokenFromAddress()) onNewToken(); });
/** A request failed to reach the server: whoever answers next proves itself before the token goes out. */
export const connectionLost = () => { trusted = false; };

const hex = (bytes) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
async function serverKnowsToken() {
  // No WebCrypto outside a secure context (plain http off loopback): nothing to check with there.
  if (!globalThis.crypto?.subtle) return true;
  const nonce = hex(crypto.getRandomValues(new Uint8Array(16)));
  const r = await fetch(`/api/proof?nonce=${nonce}`);
  if (!r.ok) return false;
  const { proof } = await r.json().catch(() => ({}));
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', enc.encode(token), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return proof === hex(await crypto.subtle.sign('HMAC', key, enc.encode(nonce)));
}
/** The server at this address is not the one the token was printed by (or none answers as it). */
export class NotTheServer extends Error {
  constructor() {
    super('the server at this address cannot prove it knows this page\'s token (cadre serve stopped, or another program holds the port); the token is not sent until it can');
  }
}
export const authHeaders = async () => {
  if (token === null) throw new NoToken();
  if (!trusted) {
    try {
      trusted = await serverKnowsToken();
    } catch (err) {
      connectionLost();
      throw err;
    }
    if (!trusted) throw new NotTheServer();
  }
  return { authorization: `Bearer ${token}` };
};
/** The server refused this page's token (or it has none): said in words, not as "No agents yet". */
export class NoToken extends Error {
  constructor() {
    super('this page has no valid token for this dashboard: open the address cadre serve printed (it ends in #token=…; a reload forgets it, and a restarted cadre serve makes a new one)');
  }
}
const checked = async (path, r) => {
  if (r.status === 401) throw new NoToken();
  if (!r.ok) throw new Error(`${path}: ${r.status} ${(await r.json().catch(() => ({}))).error ?? ''}`);
  return r.json();
};
const send = async (path, init) => {
  const headers = { ...(init.headers ?? {}), ...(await authHeaders()) };
  try {
    return await fetch(path, { ...init, headers });
  } catch (err) {
    connectionLost();
    throw err;
  }
};
export const api = async (path) => checked(path, await send(path, {}));
// Actions are POSTs carrying the CSRF token only a same-origin page can read (SECURITY.md).
let csrf = null;
export const act = async (path) => {
  csrf ??= (await api('/api/session')).csrf;
  return checked(path, await send(path, { method: 'POST', headers: { 'x-cadre-csrf': csrf } }));
};
export const fmtTokens = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${Math.round(n / 1e3)}k` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n));
export const fmtUsd = (n) => (n === 0 ? '$0' : n < 0.01 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`);
export const fmtMs = (ms) => (ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
