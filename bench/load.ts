import pg from 'pg';
import v8 from 'node:v8';
import vm from 'node:vm';
import { createAgentSystem, type AgentSystem } from '../src/system.js';
import { benchDatabase, fmt, percentile, printTable, rate, sortNumbers, type BenchRow } from './support.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A collector we can call: heap figures are only comparable right after a full collection. */
function exposeGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/**
 * Load: `agents` long-lived agents for a fixed time, all at once, each in a loop that sends a
 * message to a random peer, takes and acknowledges its own inbox, and every few rounds spawns a
 * child that runs a model turn with the offline model (spending tokens) and ends, its budget
 * reclaimed. Reports throughput and latency percentiles against the raw commit rate measured in
 * the same run, memory per finished agent, and checks that nothing was lost: every MessageSent is
 * a queue row, none is left unacknowledged once inboxes are drained, every child ended exactly
 * once, and every root's budget balances to the token.
 *
 * `npm run bench -- load [--scale s]` (scale 1: 1,000 agents for 60 s; CADRE_LOAD_SECONDS overrides).
 */
export async function benchLoad(scale = 1): Promise<BenchRow[]> {
  const nAgents = Math.max(20, Math.round(1000 * scale));
  const seconds = Number(process.env.CADRE_LOAD_SECONDS ?? Math.max(10, Math.round(60 * scale)));
  const gc = exposeGc();
  const db = await benchDatabase();
  const rows: BenchRow[] = [];
  try {
    // The physical limit: single-row INSERT commits on 8 connections.
    const raw = new pg.Pool({ connectionString: db.url, max: 8 });
    await raw.query('CREATE TABLE raw_commits (id bigserial PRIMARY KEY, k text, data jsonb)');
    const rawCommits = await rate(4000, 8, () => raw.query('INSERT INTO raw_commits (k, data) VALUES ($1, $2)', ['k', '{"a":1}']));
    await raw.end();

    const system: AgentSystem = await createAgentSystem({
      store: { kind: 'postgres', connectionString: db.url },
      schema: 'cadre',
      model: { provider: 'offline', latencyMs: 5 },
      env: {},
      recover: false,
      maxConcurrentAgents: 100_000,
      defaultAgentTimeoutMs: null,
    });
    const budget = 10_000_000;
    const roots: string[] = [];
    await rate(nAgents, 8, async () => void roots.push((await system.spawn({ role: 'peer', task: 'exchange messages and delegate', budget })).id));

    const sentAt = new Map<string, number>();
    const sendMs: number[] = [];
    const deliveryMs: number[] = [];
    const childMs: number[] = [];
    const spentByRoot = new Map<string, number>();
    let received = 0;
    let childrenDone = 0;
    let tokens = 0;
    const errors: string[] = [];
    const memory: { t: number; heap: number; rss: number; done: number }[] = [];

    gc();
    const heapStart = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      memory.push({ t: performance.now() - t0, heap: m.heapUsed, rss: m.rss, done: childrenDone });
    }, 1000);
    // Heap after a full collection at fixed points of the run, against agents finished by then.
    const marks: { at: number; heap: number; done: number }[] = [];
    const markers = [0.25, 0.5, 0.75].map((f) => setTimeout(() => {
      gc();
      marks.push({ at: f, heap: process.memoryUsage().heapUsed, done: childrenDone });
    }, seconds * 1000 * f));

    await Promise.all(roots.map(async (id, i) => {
      const me = system.get(id);
      for (let round = 0; performance.now() < deadline; round++) {
        try {
          const to = roots[(i + 1 + Math.floor(Math.random() * (roots.length - 1))) % roots.length]!;
          const s0 = performance.now();
          const { messageId } = await me.sendMessage(to, { round, from: i, note: 'load' }, { priority: Math.floor(Math.random() * 10) });
          const s1 = performance.now();
          sendMs.push(s1 - s0);
          sentAt.set(messageId, s1);
          const got = await me.receiveMessages({ max: 10, ack: true });
          const r1 = performance.now();
          for (const m of got as { messageId: string }[]) {
            received++;
            const at = sentAt.get(m.messageId);
            if (at !== undefined) deliveryMs.push(r1 - at);
            sentAt.delete(m.messageId);
          }
          if (round % 4 === i % 4) {
            const c0 = performance.now();
            const child = await me.spawn({ role: 'worker', task: `part ${round} of ${i}`, budget: 20_000 });
            const result = await child.run();
            childMs.push(performance.now() - c0);
            childrenDone++;
            tokens += result.budgetConsumed;
            spentByRoot.set(id, (spentByRoot.get(id) ?? 0) + result.budgetConsumed);
          }
        } catch (err) {
          if (errors.length < 20) errors.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
        }
      }
    }));
    const elapsed = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    markers.forEach(clearTimeout);
    gc();
    const heapEnd = process.memoryUsage().heapUsed;
    marks.push({ at: 1, heap: heapEnd, done: childrenDone });

    // Drain: every inbox taken and acknowledged.
    for (let pass = 0; pass < 5; pass++) {
      let left = 0;
      await rate(roots.length, 16, async (i) => {
        const got = await system.get(roots[i]!).receiveMessages({ max: 1000, ack: true });
        left += got.length;
        received += got.length;
      });
      if (left === 0) break;
    }

    // Nothing lost.
    const q = async (text: string): Promise<number> => Number((await system.internal.sql.query<{ n: string }>(text)).rows[0]!.n);
    const sentEvents = await q(`SELECT count(*) AS n FROM cadre.events WHERE type = 'MessageSent'`);
    const rowsTotal = await q(`SELECT count(*) AS n FROM cadre.messages`);
    const open = await q(`SELECT count(*) AS n FROM cadre.messages WHERE state IN ('pending', 'inflight')`);
    const acked = await q(`SELECT count(*) AS n FROM cadre.messages WHERE state = 'acked'`);
    const ackEvents = await q(`SELECT count(*) AS n FROM cadre.events WHERE type = 'MessageAcked'`);
    const endsPerChild = await system.internal.sql.query<{ ends: string; n: string }>(
      `SELECT ends, count(*) AS n FROM (
         SELECT e.stream_id, count(*) FILTER (WHERE e.type IN ('AgentCompleted', 'AgentFailed', 'AgentTerminated')) AS ends
           FROM cadre.events e WHERE e.stream_id IN (SELECT 'agent-' || (data->>'childId') FROM cadre.events WHERE type = 'ChildSpawned')
          GROUP BY e.stream_id) x GROUP BY ends`,
    );
    const childStreams = endsPerChild.rows.reduce((s, r) => s + Number(r.n), 0);
    const exactlyOnce = endsPerChild.rows.filter((r) => Number(r.ends) === 1).reduce((s, r) => s + Number(r.n), 0);
    let unbalanced = 0;
    for (const id of roots) {
      const b = (await system.get(id).state()).budget;
      const balanced = b.allocated === b.available + b.consumed + b.reserved + b.delegated + b.spentBySubtree;
      if (!balanced || b.reserved !== 0 || b.delegated !== 0 || b.spentBySubtree !== (spentByRoot.get(id) ?? 0)) unbalanced++;
    }
    // Every agent ends: what stays in memory afterwards is what the system leaks.
    await rate(roots.length, 16, (i) => system.terminate(roots[i]!, 'load run over'));
    await sleep(500);
    gc();
    const heapAfterEnd = process.memoryUsage().heapUsed;
    const stillLive = system.internal.runtime.liveIds().length;
    await system.close();

    const send = sortNumbers(sendMs);
    const delivery = sortNumbers(deliveryMs);
    const child = sortNumbers(childMs);
    const ms = (xs: number[], p: number): string => fmt(percentile(xs, p), 1);
    const first = marks.find((m) => m.at === 0.25) ?? { heap: heapStart, done: 0 };
    const perAgent = childrenDone > first.done ? (heapEnd - first.heap) / (childrenDone - first.done) : NaN;
    const rss = memory.map((m) => m.rss);
    const check = (ok: boolean): string => (ok ? 'ok' : 'FAILED');
    const writes = sendMs.length * 1 + received * 2 + childrenDone * 8; // appends: send, receive + ack, ~8 per child
    rows.push(
      { name: 'raw INSERT commits/s (8 connections)', value: fmt(rawCommits) },
      { name: `agents / run time`, value: `${fmt(roots.length)} / ${fmt(elapsed, 1)} s` },
      { name: 'messages sent / s', value: fmt(sendMs.length / elapsed) },
      { name: 'messages received and acked / s', value: fmt(received / elapsed) },
      { name: 'child agents spawned, run, ended / s', value: fmt(childrenDone / elapsed) },
      { name: 'tokens spent / s (offline model)', value: fmt(tokens / elapsed) },
      { name: '~appends / s (send, receive, ack, ~8 per child)', value: fmt(writes / elapsed), limit: fmt(rawCommits), ratio: `${fmt((writes / elapsed / rawCommits) * 100)}%` },
      { name: 'send p50 / p95 / p99 (ms)', value: `${ms(send, 50)} / ${ms(send, 95)} / ${ms(send, 99)}` },
      { name: 'send returned -> received p50 / p95 / p99 (ms)', value: `${ms(delivery, 50)} / ${ms(delivery, 95)} / ${ms(delivery, 99)}` },
      { name: 'child spawn -> ended p50 / p95 / p99 (ms)', value: `${ms(child, 50)} / ${ms(child, 95)} / ${ms(child, 99)}` },
      { name: 'heap after gc: start / 25% / end (MB)', value: `${fmt(heapStart / 2 ** 20, 1)} / ${fmt(first.heap / 2 ** 20, 1)} / ${fmt(heapEnd / 2 ** 20, 1)}` },
      { name: 'heap growth per finished child, 25% -> end (bytes)', value: fmt(perAgent), goal: 'bounded (~0)' },
      { name: 'heap after every agent ended (MB), live actors left', value: `${fmt(heapAfterEnd / 2 ** 20, 1)}, ${stillLive}`, limit: `${fmt(heapStart / 2 ** 20, 1)} at start`, goal: 'back to the start' },
      { name: 'rss min / max (MB)', value: `${fmt(Math.min(...rss) / 2 ** 20)} / ${fmt(Math.max(...rss) / 2 ** 20)}` },
      { name: 'errors during the run', value: errors.length === 0 ? '0' : `${errors.length}: ${errors.slice(0, 3).join(' | ')}` },
      { name: 'check: every MessageSent is one queue row', value: `${check(sentEvents === rowsTotal)} (${fmt(sentEvents)} events, ${fmt(rowsTotal)} rows)` },
      { name: 'check: none left unacknowledged after drain', value: `${check(open === 0 && acked === rowsTotal)} (${fmt(acked)} acked, ${fmt(open)} open)` },
      { name: 'check: one MessageAcked per acked message', value: `${check(ackEvents === acked)} (${fmt(ackEvents)})` },
      { name: 'check: every child ended exactly once', value: `${check(exactlyOnce === childStreams && childStreams >= childrenDone)} (${fmt(exactlyOnce)} of ${fmt(childStreams)})` },
      { name: 'check: every root balances to the token', value: `${check(unbalanced === 0)} (${unbalanced} off)` },
    );
    if (rows.some((r) => r.value.startsWith('FAILED')) || errors.length > 0) process.exitCode = 1;
    printTable(`load: ${fmt(roots.length)} agents for ${seconds} s (${db.source})`, rows);
    return rows;
  } finally {
    await db.cleanup();
  }
}
