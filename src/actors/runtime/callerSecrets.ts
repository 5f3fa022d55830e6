import type { DomainEvent } from '../../events/catalogue.js';
import type { RuntimeContext } from './runtimeContext.js';

/**
 * A decision's events with every secret taken out of their strings, as the composition root's
 * redaction finds them (the configured API key by its exact value, key-shaped strings, ...),
 * before they are folded or stored: what is recorded, and the state decided from it, never
 * holds one, wherever its text came from. A model's reply and a tool's result are redacted
 * where they are produced; this catches what a caller typed: a task (`cadre spawn --task "...
 * sk-ant-..."`), a message's payload, a workflow's graph, a termination's reason. Those were
 * stored, sent to the model and printed by `history` and `inbox` verbatim (a trial of the CLI).
 *
 * Cheap when there is nothing to take out (every event of a normal run): the data's JSON is
 * scanned once, and only an event holding a secret is copied.
 */
export function withoutSecrets(rt: RuntimeContext, events: DomainEvent[]): DomainEvent[] {
  const redact = rt.deps.redact;
  if (!redact) return events;
  let out: DomainEvent[] | null = null;
  events.forEach((e, i) => {
    const data = redactedData(redact, e.data);
    if (data === e.data) return;
    out ??= [...events];
    out[i] = { ...e, data } as DomainEvent;
  });
  return out ?? events;
}

function redactedData(redact: (text: string) => string, data: unknown): unknown {
  const json = JSON.stringify(data);
  if (json === undefined || redact(json) === json) return data;
  return mapStrings(data, redact);
}

/**
 * `value` with `f` applied to every string in it, object keys too (a payload `{"<the key>": 1}`
 * kept the key as a member's name); the same object where nothing changed. Two names made alike
 * by `f` are told apart by a count (`[redacted]`, `[redacted] 2`) rather than one lost.
 */
function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === 'string') return f(value);
  if (Array.isArray(value)) {
    const mapped = value.map((v) => mapStrings(v, f));
    return mapped.every((v, i) => v === value[i]) ? value : mapped;
  }
  if (typeof value === 'object' && value !== null) {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const mapped = mapStrings(v, f);
      let name = f(k);
      for (let n = 2; name !== k && Object.hasOwn(out, name); n++) name = `${f(k)} ${n}`;
      changed ||= mapped !== v || name !== k;
      out[name] = mapped;
    }
    return changed ? out : value;
  }
  return value;
}
