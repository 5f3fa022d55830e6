import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createAgentSystem, type AgentSystem } from '../../src/system.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';
import { agentStream } from '../../src/actors/streams.js';

const TERMINAL = new Set(['AgentCompleted', 'AgentFailed', 'AgentTerminated']);

function startWorker(url: string, schema: string, owner: string): Promise<{ proc: ChildProcess; hosted: () => number }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'tests/support/workerProcess.ts', url, schema, owner], { stdio: ['ignore', 'pipe', 'inherit'] });
  let hosted = 0;
  return new Promise((resolve, reject) => {
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        if (line.startsWith('ready')) resolve({ proc, hosted: () => hosted });
        const m = /^hosting (\d+)/.exec(line);
        if (m) hosted = Number(m[1]);
      }
    });
    proc.once('exit', (code) => reject(new Error(`worker ${owner} exited early (${code})`)));
  });
}

describe('several workers on one Postgres store', () => {
  const procs: ChildProcess[] = [];
  let client: AgentSystem | undefined;
  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await client?.close();
  });

  it('three workers run a 30-agent tree; one is SIGKILLed mid-run; the others finish it, each event written once', { timeout: 200_000 }, async () => {
    const url = testPgUrl();
    const schema = freshSchema('wrk');
    // The client only writes: capacity 0 means it hosts nothing and the workers pick everything up.
    client = await createAgentSystem({ store: { kind: 'postgres', connectionString: url }, schema, model: { provider: 'offline' }, env: {}, worker: { owner: 'client', capacity: 0 } });
    const workers = await Promise.all(['w1', 'w2', 'w3'].map((w) => startWorker(url, schema, w)));
    procs.push(...workers.map((w) => w.proc));

    const root = await client.spawn({ role: 'lead', task: 'coordinate', budget: 1_000_000 });
    const ids = [root.id];
    const mids = [];
    for (let i = 0; i < 5; i++) {
      const m = await root.spawn({ role: 'mid', task: `area ${i}`, budget: 100_000 });
      mids.push(m);
      ids.push(m.id);
    }
    for (let i = 0; i < 24; i++) {
      const leaf = await mids[i % 5]!.spawn({ role: 'leaf', task: `piece ${i}`, budget: 10_000 });
      ids.push(leaf.id);
    }
    expect(ids).toHaveLength(30);
    const done = root.run();
    // Kill a worker once it hosts agents whose work is under way (started, not yet ended).
    const underWayOn = async (owner: string): Promise<string[]> => {
      const leased = (await client!.internal.sql.query<{ agent_id: string }>(`SELECT agent_id FROM ${schema}.actor_index WHERE status = 'live' AND lease_owner = $1`, [owner])).rows.map((r) => r.agent_id);
      const out: string[] = [];
      for (const id of leased) {
        const types = (await client!.store.readStream(agentStream(id))).map((e) => e.type);
        if (types.includes('AgentStarted') && !types.some((t) => TERMINAL.has(t))) out.push(id);
      }
      return out;
    };
    // Whichever worker first hosts some: on a loaded machine one worker may start late and
    // claim nothing before the others have run the tree.
    let held: string[] = [];
    let victim = 0;
    for (let i = 0; i < 400 && held.length === 0; i++) {
      for (victim = 0; victim < workers.length && held.length === 0; victim++) held = await underWayOn(`w${victim + 1}`);
      victim--;
      if (held.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(held.length, 'agents under way on the worker about to be killed').toBeGreaterThan(0);
    const victimExit = new Promise((r) => workers[victim]!.proc.once('exit', r));
    workers[victim]!.proc.kill('SIGKILL');
    await victimExit;
    // What the killed worker's agents had recorded when it died, and which were still under way.
    const atKill = new Map<string, number>();
    for (const id of held) {
      const events = await client.store.readStream(agentStream(id));
      if (!events.some((e) => TERMINAL.has(e.type))) atKill.set(id, events.length);
    }
    expect(atKill.size, 'agents the killed worker left under way').toBeGreaterThan(0);
    // On a hang, say where every agent stands before the test times out.
    const watchdog = setTimeout(() => {
      void Promise.all(ids.map(async (id) => {
        const ev = await client!.store.readStream(agentStream(id));
        const lease = await client!.internal.sql.query<{ status: string; lease_owner: string | null }>(`SELECT status, lease_owner FROM ${schema}.actor_index WHERE agent_id = $1`, [id]);
        return `${id.slice(0, 8)} ${lease.rows[0]?.status}/${lease.rows[0]?.lease_owner} ${ev.map((e) => e.type).slice(-4).join(',')}`;
      })).then((lines) => console.log(`[workers] still running after 90 s (alive: ${workers.map((w, i) => `w${i + 1}=${w.proc.exitCode === null}`).join(' ')}):\n${lines.join('\n')}`));
    }, 90_000);
    const result = await done;
    clearTimeout(watchdog);
    expect(result.status).toBe('completed');

    let consumed = 0;
    for (const id of ids) {
      const events = await client.store.readStream(agentStream(id));
      expect(events.map((e) => e.revision)).toEqual(events.map((_, i) => BigInt(i)));
      expect(events.filter((e) => TERMINAL.has(e.type)), `one terminal event in ${id}`).toHaveLength(1);
      const replies = events.filter((e) => e.type === 'ModelReplied').map((e) => (e.data as { callId: string }).callId);
      expect(new Set(replies).size, `each model call answered once in ${id}`).toBe(replies.length);
      const started = events.filter((e) => e.type === 'AgentStarted');
      expect(started.length).toBe(1);
      consumed += (await client.internal.runtime.state(id)).budget.consumed;
    }
    const top = await root.getBudgetStatus();
    expect(top.allocated).toBe(consumed + top.available);
    // Another worker took over each agent the killed one left under way: its stream went on
    // after the kill and ended (only an agent's host writes its stream; the victim is dead and
    // the client hosts nothing).
    for (const [id, n] of atKill) {
      const events = await client.store.readStream(agentStream(id));
      expect(events.length, `${id} continued after its worker died`).toBeGreaterThan(n);
      expect(events.slice(n).some((e) => TERMINAL.has(e.type)), `${id} ended on another worker`).toBe(true);
    }
  });
});
