import { readFileSync } from 'node:fs';
const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const incl = new Map(); let total = 0, busy = 0;
p.samples.forEach((id, i) => {
  const dt = p.timeDeltas[i] ?? 0; total += dt;
  const leaf = byId.get(id).callFrame.functionName;
  if (leaf === '(idle)') return; busy += dt;
  const seen = new Set();
  for (let x = id; x !== undefined; x = parent.get(x)) {
    const cf = byId.get(x).callFrame;
    const key = `${cf.functionName || '(anon)'} ${cf.url.replace(/.*\/(node_modules\/)?/, '')}:${cf.lineNumber}`;
    if (seen.has(key)) continue; seen.add(key);
    incl.set(key, (incl.get(key) ?? 0) + dt);
  }
});
console.log('busy ms', (busy / 1000).toFixed(0), 'of', (total / 1000).toFixed(0));
[...incl].sort((a, b) => b[1] - a[1]).filter(([k]) => !/^\(anon\) :|runMicrotasks|processTicksAndRejections|^\(root\)/.test(k)).slice(0, Number(process.argv[3] ?? 60)).forEach(([k, t]) => console.log((t / busy * 100).toFixed(1).padStart(5), k));
