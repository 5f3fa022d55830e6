import pg from 'pg';
import { pathToFileURL } from 'node:url';
import { createAgentSystem } from '../src/system.js';
import { createMessaging, type MessagingRuntime } from '../src/messaging/index.js';
import { silentLogger } from '../src/actors/ports/runtimePorts.js';
import { benchDatabase, fmt, percentile, printTable, rate, ratio, sortNumbers, type BenchRow } from './support.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Raw LISTEN/NOTIFY: NOTIFY from a pool connection until the listener has it. */
async function rawNotifyRoundTrip(url: string, samples: number): Promise<number[]> {
  const listener = new pg.Client({ connectionString: url });
  await listener.connect();
  await listener.query('LISTEN raw_bench');
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const waiting = new Map<string, () => void>();
  listener.on('notification', (n) => waiting.get(n.payload ?? '')?.());
  const lat: number[] = [];
  for (let i = 0; i < samples; i++) {
    const key = String(i);
    const got = new Promise<void>((r) => waiting.set(key, r));
    const t0 = performance.now();
    await pool.query('SELECT pg_notify($1, $2)', ['raw_bench', key]);
    await got;
    lat.push(performance.now() - t0);
    waiting.delete(key);
  }
  await pool.end();
  await listener.end();
  return sortNumbers(lat);
}

/** Raw SKIP LOCKED dequeue: 4 consumers claiming the best job one at a time. */
async function rawSkipLockedRate(url: string, jobs: number): Promise<number> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  await pool.query(`CREATE TABLE raw_jobs (id bigserial PRIMARY KEY, recipient text, priority smallint, payload jsonb, state text NOT NULL DEFAULT 'pending')`);
  await pool.query(`CREATE INDEX raw_jobs_ready ON raw_jobs (recipient, priority DESC, id) WHERE state = 'pending'`);
  await pool.query(`INSERT INTO raw_jobs (recipient, priority, payload) SELECT 'r' || (g % 4), g % 10, '{"n":1}' FROM generate_series(1, $1) g`, [jobs]);
  await pool.query('VACUUM ANALYZE raw_jobs');
  const r = await rate(jobs, 4, (_i, w) =>
    pool.query(
      `UPDATE raw_jobs j SET state = 'done' FROM (SELECT id FROM raw_jobs WHERE recipient = $1 AND state = 'pending'
         ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED) p WHERE j.id = p.id RETURNING j.id`,
      [`r${w}`],
    ),
  );
  await pool.end();
  return r;
}

/**
 * Agent-to-agent messages at 1,000 agents on Postgres: delivery latency (MessageSent committed →
 * the recipient's receive returns, MessageReceived recorded) and throughput, against the raw
 * NOTIFY round trip and the raw SKIP LOCKED dequeue rate measured in the same run.
 *
 * Run: `npx tsx bench/messages.ts [scale]` (or `npm run bench -- messages` once registered).
 */
export async function benchMessages(scale = 1): Promise<BenchRow[]> {
  const db = await benchDatabase();
  const rows: BenchRow[] = [];
  try {
    const notifyLat = await rawNotifyRoundTrip(db.url, Math.round(500 * scale));
    const rawDequeue = await rawSkipLockedRate(db.url, Math.round(8000 * scale));

    const system = await createAgentSystem({
      store: { kind: 'postgres', connectionString: db.url },
      model: { provider: 'offline' },
      schema: 'cadre',
      env: {},
      recover: false,
      maxConcurrentAgents: 100_000,
    });
    const committedAt = new Map<string, number>();
    const runtime: MessagingRuntime = {
      // Times the commit of MessageSent (execute resolves right after the append returns).
      async execute(id, decide) {
        const events = await system.internal.runtime.execute(id, decide);
        const first = events[0];
        if (first?.type === 'MessageSent') committedAt.set(first.data.messageId, performance.now());
        return events;
      },
      state: (id) => system.internal.runtime.state(id),
    };
    const mq = createMessaging({ runtime, store: system.store, sql: system.internal.sql, schema: system.schema, logger: silentLogger, options: { inboxLimit: 1000 } });
    await mq.start();

    const agents: string[] = [];
    const nAgents = Math.max(10, Math.round(1000 * scale));
    const spawnRate = await rate(nAgents, 8, async () => {
      agents.push((await system.spawn({ role: 'peer', task: 'exchange messages', budget: 1000 })).id);
    });

    // Every agent long-polls its inbox (LISTEN/NOTIFY wakes it; no polling loop).
    const receivedAt = new Map<string, number>();
    let running = true;
    const receivers = agents.map(async (id) => {
      while (running) {
        const got = await mq.receive(id, { max: 20, waitMs: 10_000 });
        const t = performance.now();
        for (const m of got) receivedAt.set(m.messageId, t);
        if (got.length > 0) await mq.ack(id, got.map((m) => m.messageId));
      }
    });
    await sleep(500);
    const pick = (): [string, string] => {
      const a = Math.floor(Math.random() * agents.length);
      const b = (a + 1 + Math.floor(Math.random() * (agents.length - 1))) % agents.length;
      return [agents[a]!, agents[b]!];
    };

    // Latency: a steady stream of sends from random agents to random agents, 4 in flight.
    const latencyN = Math.round(1000 * scale);
    const sendDur: number[] = [];
    const latencyIds: string[] = [];
    const receivableAt = new Map<string, number>();
    await rate(latencyN, 4, async () => {
      const [from, to] = pick();
      const t0 = performance.now();
      const { messageId } = await mq.send(from, to, { note: 'a small payload', at: Date.now() }, { priority: Math.floor(Math.random() * 10) });
      const t1 = performance.now();
      sendDur.push(t1 - t0);
      receivableAt.set(messageId, t1);
      latencyIds.push(messageId);
      await sleep(2);
    });
    const waitAll = async (ids: string[], ms: number): Promise<void> => {
      const end = Date.now() + ms;
      while (ids.some((id) => !receivedAt.has(id)) && Date.now() < end) await sleep(20);
    };
    await waitAll(latencyIds, 10_000);
    const lat = sortNumbers(latencyIds.filter((id) => receivedAt.has(id)).map((id) => Math.max(0, receivedAt.get(id)! - committedAt.get(id)!)));
    sortNumbers(sendDur);
    const materialise = sortNumbers(latencyIds.map((id) => Math.max(0, receivableAt.get(id)! - committedAt.get(id)!)));

    // Throughput: every agent sends 3 messages to random peers, 64 sends in flight.
    const burstN = agents.length * 3;
    const burstIds: string[] = [];
    const t0 = performance.now();
    await rate(burstN, 64, async () => {
      const [from, to] = pick();
      burstIds.push((await mq.send(from, to, { burst: true })).messageId);
    });
    const sentPerSec = burstN / ((performance.now() - t0) / 1000);
    await waitAll(burstIds, 30_000);
    const lastReceived = Math.max(...burstIds.map((id) => receivedAt.get(id) ?? Infinity));
    const deliveredPerSec = burstN / ((lastReceived - t0) / 1000);
    const burstLat = sortNumbers(burstIds.filter((id) => receivedAt.has(id)).map((id) => receivedAt.get(id)! - committedAt.get(id)!));

    running = false;
    await mq.stop();
    await Promise.all(receivers);
    await system.close();

    rows.push(
      { name: 'raw NOTIFY round trip p50 (ms)', value: fmt(percentile(notifyLat, 50), 2) },
      { name: 'raw NOTIFY round trip p99 (ms)', value: fmt(percentile(notifyLat, 99), 2) },
      { name: 'raw SKIP LOCKED dequeues/s (4 consumers)', value: fmt(rawDequeue) },
      { name: `agents spawned (per s)`, value: `${agents.length} (${fmt(spawnRate)}/s)` },
      { name: 'delivery p50 (ms), committed → received', value: fmt(percentile(lat, 50), 2), limit: fmt(percentile(notifyLat, 50), 2), ratio: ratio(percentile(lat, 50), percentile(notifyLat, 50)) },
      { name: 'delivery p99 (ms), committed → received', value: fmt(percentile(lat, 99), 2), limit: fmt(percentile(notifyLat, 99), 2), ratio: ratio(percentile(lat, 99), percentile(notifyLat, 99)), goal: '< 25 ms' },
      { name: 'of which committed → receivable p50 / p99 (ms)', value: `${fmt(percentile(materialise, 50), 2)} / ${fmt(percentile(materialise, 99), 2)}` },
      { name: 'send() p50 / p99 (ms), incl. wait until receivable', value: `${fmt(percentile(sendDur, 50), 2)} / ${fmt(percentile(sendDur, 99), 2)}` },
      { name: 'delivered / sent (latency run)', value: `${lat.length} / ${latencyN}` },
      { name: 'throughput: sends/s (64 in flight)', value: fmt(sentPerSec) },
      { name: 'throughput: delivered+acked msgs/s', value: fmt(deliveredPerSec), limit: fmt(rawDequeue), ratio: ratio(deliveredPerSec, rawDequeue) },
      { name: 'delivery p50 / p99 under the burst (ms)', value: `${fmt(percentile(burstLat, 50), 1)} / ${fmt(percentile(burstLat, 99), 1)}` },
      { name: 'delivered / sent (burst)', value: `${burstLat.length} / ${burstN}` },
    );
    printTable(`messages, ${agents.length} agents (${db.source})`, rows);
    return rows;
  } finally {
    await db.cleanup();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchMessages(Number(process.argv[2] ?? 1));
}
