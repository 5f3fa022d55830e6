import { readFileSync } from 'node:fs';
const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = p.timeDeltas; let total = 0;
const counts = new Map();
p.samples.forEach((id, i) => { counts.set(id, (counts.get(id) ?? 0) + (dt[i] ?? 0)); total += dt[i] ?? 0; });
const agg = new Map();
for (const [id, t] of counts) { const n = byId.get(id); const cf = n.callFrame; const key = `${cf.functionName || '(anon)'} ${cf.url.replace(/.*\/(node_modules\/)?/, '')}:${cf.lineNumber}`; agg.set(key, (agg.get(key) ?? 0) + t); }
const byFile = new Map();
for (const [id, t] of counts) { const n = byId.get(id); const u = n.callFrame.url; const key = u.includes('node_modules') ? u.replace(/.*node_modules\/((@[^/]+\/)?[^/]+).*/, 'npm:$1') : u.replace(/.*\/work\/main\//, ''); byFile.set(key, (byFile.get(key) ?? 0) + t); }
console.log('total ms', (total / 1000).toFixed(0));
console.log('--- by file'); [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 25).forEach(([k, t]) => console.log((t / total * 100).toFixed(1).padStart(5), k));
console.log('--- by function'); [...agg].sort((a, b) => b[1] - a[1]).slice(0, 30).forEach(([k, t]) => console.log((t / total * 100).toFixed(1).padStart(5), k));
