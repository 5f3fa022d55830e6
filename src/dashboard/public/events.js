// Server-sent events read over fetch: EventSource cannot send the Authorization header the API
// needs. Reconnects after a drop (the server's `retry:`, 1 s) until the server refuses the token.
import { authHeaders, connectionLost, NoToken } from './dom.js';

/** Parses one event block (`event:` and `data:` lines) into [type, data], or null for a comment. */
function parseBlock(block) {
  let type = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) type = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  return data.length > 0 ? [type, data.join('\n')] : null;
}

/** Follows `path`; `onEvent(type, data)` per event, `onDown(err)` per drop (a NoToken ends it). */
export function followEvents(path, { onEvent, onDown }) {
  (async () => {
    for (;;) {
      try {
        const r = await fetch(path, { headers: await authHeaders() });
        if (r.status === 401) throw new NoToken();
        if (!r.ok || !r.body) throw new Error(`${path}: ${r.status}`);
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer = (buffer + value).replace(/\r\n?/g, '\n');
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const event = parseBlock(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            if (event) onEvent(...event);
          }
        }
        connectionLost();
        onDown(new Error('the event stream ended'));
      } catch (err) {
        if (!(err instanceof NoToken)) connectionLost();
        onDown(err);
        if (err instanceof NoToken) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
}
