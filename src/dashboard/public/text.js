import { el } from './dom.js';
// Model and agent text is hostile (SECURITY.md): it becomes DOM nodes through textContent only.
// A minimal markdown subset — headings, lists, fenced code, `code`, paragraphs with their line
// breaks — and nothing else: no links, no images, no HTML.
const inlineCode = (text) => text.split('`').map((part, i) => (i % 2 ? el('code', { text: part }) : part));
export function renderMarkdown(text) {
  const out = el('div', { class: 'md' });
  const lines = String(text).split(/\r?\n/);
  let para = null;
  let list = null;
  const close = () => { para = null; list = null; };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s*```/.test(line)) {
      close();
      const body = [];
      while (++i < lines.length && !/^\s*```/.test(lines[i])) body.push(lines[i]);
      out.append(el('pre', {}, el('code', { text: body.join('\n') })));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      close();
      out.append(el(`h${Math.min(6, heading[1].length + 3)}`, {}, ...inlineCode(heading[2])));
      continue;
    }
    const item = /^\s*(?:([-*+])|(\d{1,9})[.)])\s+(.*)$/.exec(line);
    if (item) {
      para = null;
      const tag = item[1] ? 'ul' : 'ol';
      if (!list || list.tagName.toLowerCase() !== tag) { list = el(tag); out.append(list); }
      list.append(el('li', {}, ...inlineCode(item[3])));
      continue;
    }
    if (line.trim() === '') { close(); continue; }
    list = null;
    if (para) para.append('\n', ...inlineCode(line));
    else { para = el('p', {}, ...inlineCode(line)); out.append(para); }
  }
  return out;
}

/**
 * Long text folded to a few lines with "show all" (and "show less" back). `body` is a node
 * already built from the text (markdown, a <pre>); `text` decides whether it is long at all.
 */
export function collapsible(body, text, { lines = 4, chars = 400 } = {}) {
  const long = String(text).split('\n').length > lines || String(text).length > chars;
  if (!long) return body;
  const box = el('div', { class: 'collapsible folded', style: `--lines:${lines}` }, body);
  const more = el('button', { type: 'button', class: 'more', text: `show all (${String(text).length.toLocaleString()} characters)` });
  more.addEventListener('click', (ev) => {
    ev.stopPropagation();
    const folded = box.classList.toggle('folded');
    more.textContent = folded ? `show all (${String(text).length.toLocaleString()} characters)` : 'show less';
  });
  return el('div', { class: 'long' }, box, more);
}

/** Any value as folded text: strings as they are, anything else as indented JSON. */
export function foldedPre(value, opts) {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2) ?? '';
  return collapsible(el('pre', { class: 'payload', text }), text, opts);
}
