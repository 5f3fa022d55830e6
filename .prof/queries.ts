import pg from 'pg';
import { cadreSide } from '../bench/workflowCadre.js';
import { fakeModel } from '../bench/workflowModel.js';
import { benchDatabase } from '../bench/support.js';
const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
const orig = proto.query;
let on = false;
const counts = new Map<string, number>();
proto.query = function (this: pg.Client, ...args: unknown[]) {
  if (on) {
    const a = args[0];
    const text = typeof a === 'string' ? a : (a as { text?: string; name?: string })?.text ?? (a as { name?: string })?.name ?? '?';
    const l = text.replace(/\s+/g, ' ').replace(/'[^']*'/g, "'?'").replace(/\b\d+\b/g, 'N').trim().slice(0, 110);
    counts.set(l, (counts.get(l) ?? 0) + 1);
  }
  return orig.apply(this, args);
};
const db = await benchDatabase();
const side = await cadreSide(db.url, fakeModel());
for (let i = 0; i < 20; i++) await side.run();
await new Promise((r) => setTimeout(r, 500));
const n = 100;
on = true;
for (let i = 0; i < n; i++) await side.run();
await new Promise((r) => setTimeout(r, 1000));
on = false;
let total = 0;
for (const v of counts.values()) total += v;
console.log('statements per run', (total / n).toFixed(1));
[...counts].sort((a, b) => b[1] - a[1]).slice(0, 40).forEach(([k, v]) => console.log((v / n).toFixed(2).padStart(6), k));
await side.close();
await db.cleanup();
