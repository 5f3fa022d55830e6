/**
 * What one long agent's model requests cost to keep (blobParts.ts): an agent of n turns, each
 * reading a 4 kB tool output, on a fresh database. Each turn's request holds the whole
 * conversation so far; stored whole, the table held every output once per later turn (the sum
 * of every request: the peer row). The physical limit is the last request's JSON alone: it holds
 * every output once, and the table must be able to give it back. `npm run bench -- requests`.
 */
import pg from 'pg';
import { z } from 'zod';
import type { ModelRequest } from '../src/actors/ports/modelProvider.js';
import { tool } from '../src/actors/userTool.js';
import { createScriptedProvider } from '../src/infra/model/scriptedProvider.js';
import { createAgentSystem } from '../src/system.js';
import { benchDatabase, fmt, printTable, ratio, type BenchRow } from './support.js';

const OUTPUT_CHARS = 4000;
/** What a real API could report: an input token per 16 bytes of the request (checkingModel refuses fewer than one per 64). */
const usageOf = (r: ModelRequest) => ({ inputTokens: Math.ceil(Buffer.byteLength(JSON.stringify(r)) / 16), outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 });
const page = (n: number): string => `page ${n}: ` + Array.from({ length: OUTPUT_CHARS / 8 }, (_, i) => `w${(i * 7919 + n) % 9973}`).join(' ').slice(0, OUTPUT_CHARS);

async function oneAgent(turns: number): Promise<{ stored: number; onDisk: number; lastRequest: number; whole: number }> {
  const db = await benchDatabase();
  const sent: number[] = [];
  const model = createScriptedProvider((r: ModelRequest) => {
    sent.push(JSON.stringify(r).length);
    const n = sent.length;
    if (n > turns) return { model: 'scripted', content: [{ type: 'tool_use', id: 'fin', name: 'finish', input: { output: 'done' } }], stopReason: 'tool_use', usage: usageOf(r) };
    return { model: 'scripted', content: [{ type: 'text', text: `Reading page ${n}.` }, { type: 'tool_use', id: `t${n}`, name: 'read_page', input: { n } }], stopReason: 'tool_use', usage: usageOf(r) };
  });
  const readPage = tool({ name: 'read_page', description: 'Reads a page.', input: z.object({ n: z.number() }), run: ({ n }) => page(n) });
  const system = await createAgentSystem({ store: { kind: 'postgres', connectionString: db.url }, schema: 'cadre', model, env: {}, recover: false, tools: [readPage] });
  try {
    const agent = await system.spawn({ role: 'reader', task: 'Read every page.', budget: 100_000_000, maxTurns: turns + 5 });
    const result = await agent.run();
    if (result.status !== 'completed') throw new Error(`the agent ended ${result.status}: ${result.reason ?? ''}`);
  } finally {
    await system.close();
  }
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    const r = await c.query<{ b: string; t: string }>(`SELECT sum(bytes)::text AS b, pg_total_relation_size('cadre.blobs')::text AS t FROM cadre.blobs`);
    return { stored: Number(r.rows[0]!.b), onDisk: Number(r.rows[0]!.t), lastRequest: sent.at(-1)!, whole: sent.reduce((a, b) => a + b, 0) };
  } finally {
    await c.end();
    await db.cleanup();
  }
}

export async function benchRequests(scale = 1): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const turns of [10, 25, 50].map((t) => Math.max(2, Math.round(t * Math.min(1, scale * 2))))) {
    const r = await oneAgent(turns);
    rows.push({ name: `${turns} turns: request JSON stored`, value: `${fmt(r.stored / 1000)} kB`, limit: `${fmt(r.lastRequest / 1000)} kB last request`, ratio: ratio(r.stored, r.lastRequest), goal: `whole requests: ${fmt(r.whole / 1000)} kB (${fmt(r.whole / r.stored, 1)}× more)` });
    rows.push({ name: `${turns} turns: blobs table on disk`, value: `${fmt(r.onDisk / 1000)} kB`, limit: '' });
  }
  printTable(`model requests of one agent, a ${fmt(OUTPUT_CHARS / 1000)} kB tool output per turn (blobs table)`, rows);
  return rows;
}
