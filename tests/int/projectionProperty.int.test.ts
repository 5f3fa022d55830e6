import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { openPostgresEventStore } from '../../src/events/stores/postgres/postgresEventStore.js';
import type { EventToAppend } from '../../src/events/envelope.js';
import type { SqlClient } from '../../src/infra/sql/sqlClient.js';
import { ProjectionRunner } from '../../src/projections/runner.js';
import { defaultProjections } from '../../src/projections/readModels/index.js';
import { available, budgetStatus, delegate, openLedger, overspent, reclaim, release, reserve, settle, type BudgetLedger, type BudgetStatus } from '../../src/actors/budget.js';
import { freshSchema, sqlTargets } from '../support/testDb.js';
import { eventSchemas } from '../../src/events/catalogue.js';
import { ledgerOf, type LedgerRow } from '../../src/projections/ledgerOf.js';
import { parseRecorded } from '../../src/events/upcast.js';

// ---- a small deterministic generator of realistic agent histories ----------------------------

const mulberry32 = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

type BudgetData = {
  budget: number; reservationId: string; consumed: number; childId: string; amount: number; returned: number; overspent?: number;
  callId: string; reserved: number; reserves?: boolean; settles?: boolean; usage: { inputTokens: number };
  delegatesBudget?: boolean; reclaim?: { returned: number; overspent: number } | null;
};

interface Append {
  readonly stream: string;
  readonly events: EventToAppend[];
}

interface SimAgent {
  readonly id: string;
  readonly parent: SimAgent | null;
  readonly depth: number;
  readonly kind: 'agent' | 'workflow';
  status: 'spawned' | 'running' | 'ended';
  ledger: BudgetLedger;
  live: Set<string>;
  call: { callId: string; resId: string; amount: number; v2: boolean } | null;
  pendingNodes: string[];
  nodeId: string | null;
}

/** Folds events through src/actors/budget.ts: the agents' own arithmetic. */
export function foldBudgets(appends: readonly Append[]): Map<string, BudgetLedger> {
  const ledgers = new Map<string, BudgetLedger>();
  for (const a of appends) {
    if (!a.stream.startsWith('agent-')) continue;
    const id = a.stream.slice(6);
    for (const e of a.events) {
      const d = e.data as BudgetData;
      const b = ledgers.get(id);
      if (e.type === 'AgentSpawned') ledgers.set(id, openLedger(d.budget));
      else if (!b) continue;
      else if (e.type === 'BudgetReserved') ledgers.set(id, reserve(b, d.reservationId, d.amount));
      else if (e.type === 'BudgetSettled') ledgers.set(id, settle(b, d.reservationId, d.consumed));
      else if (e.type === 'BudgetReleased') ledgers.set(id, release(b, d.reservationId));
      else if (e.type === 'BudgetDelegated') ledgers.set(id, delegate(b, d.childId, d.amount));
      else if (e.type === 'BudgetReclaimed') ledgers.set(id, reclaim(b, d.childId, d.returned, d.overspent ?? 0));
      // Today's shapes: the spawn delegates (ChildSpawned v3), the end reclaims (ChildFinished v2).
      else if (e.type === 'ChildSpawned' && d.delegatesBudget) ledgers.set(id, delegate(b, d.childId, d.budget));
      else if (e.type === 'ChildFinished' && d.reclaim) ledgers.set(id, reclaim(b, d.childId, d.reclaim.returned, d.reclaim.overspent));
      // ... and the call reserves (ModelRequested v2) and settles (ModelReplied v2: usage is input only here).
      else if (e.type === 'ModelRequested' && d.reserves) ledgers.set(id, reserve(b, d.callId, d.reserved));
      else if (e.type === 'ModelReplied' && d.settles) ledgers.set(id, settle(b, d.callId, d.usage.inputTokens));
    }
  }
  return ledgers;
}

let uuidCounter = 0;
const uuid = (rand: () => number): string => {
  const hex = (n: number) => Math.floor(rand() * 16 ** n).toString(16).padStart(n, '0');
  uuidCounter++;
  return `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${(uuidCounter % 0xffffff).toString(16).padStart(6, '0')}${hex(6)}`;
};

export function generateHistory(seed: number, steps: number): Append[] {
  const rand = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  let clock = Date.parse('2026-03-01T00:00:00.000Z');
  const ev = (type: string, data: unknown): EventToAppend => ({
    id: uuid(rand),
    type,
    data,
    metadata: { correlationId: 'run', causationId: 'cause', schemaVersion: 1, at: new Date((clock += int(1, 5000))).toISOString() },
  });
  /** An event as today's code records it (its catalogue version); `ev` writes every event as v1, as old stores hold them. */
  const current = (type: 'ChildSpawned' | 'ChildFinished' | 'ModelRequested' | 'ModelReplied', data: unknown): EventToAppend => versioned(type, eventSchemas[type].version, data);
  /** An event as the code of its `version` recorded it. */
  const versioned = (type: 'ChildSpawned' | 'ChildFinished' | 'ModelRequested' | 'ModelReplied', version: number, data: unknown): EventToAppend => {
    const e = ev(type, data);
    return { ...e, metadata: { ...e.metadata, schemaVersion: version } };
  };
  const agents: SimAgent[] = [];
  const out: Append[] = [];
  let n = 0;
  const push = (agent: SimAgent, ...events: EventToAppend[]) => {
    out.push({ stream: `agent-${agent.id}`, events });
    for (const e of events) {
      const d = e.data as BudgetData;
      if (e.type === 'BudgetReserved') agent.ledger = reserve(agent.ledger, d.reservationId, d.amount);
      if (e.type === 'BudgetSettled') agent.ledger = settle(agent.ledger, d.reservationId, d.consumed);
      if (e.type === 'BudgetReleased') agent.ledger = release(agent.ledger, d.reservationId);
      if (e.type === 'BudgetDelegated') agent.ledger = delegate(agent.ledger, d.childId, d.amount);
      if (e.type === 'BudgetReclaimed') agent.ledger = reclaim(agent.ledger, d.childId, d.returned, d.overspent ?? 0);
      if (e.type === 'ChildSpawned' && d.delegatesBudget) agent.ledger = delegate(agent.ledger, d.childId, d.budget);
      if (e.type === 'ChildFinished' && d.reclaim) agent.ledger = reclaim(agent.ledger, d.childId, d.reclaim.returned, d.reclaim.overspent);
      if (e.type === 'ModelRequested' && d.reserves) agent.ledger = reserve(agent.ledger, d.callId, d.reserved);
      if (e.type === 'ModelReplied' && d.settles) agent.ledger = settle(agent.ledger, d.callId, d.usage.inputTokens);
    }
  };
  const spawn = (parent: SimAgent | null, budget: number, kind: 'agent' | 'workflow', nodeId: string | null) => {
    const id = `${parent ? 'c' : 'r'}${n++}_${seed % 1000}`;
    const a: SimAgent = { id, parent, depth: parent ? parent.depth + 1 : 0, kind, status: 'spawned', ledger: openLedger(budget), live: new Set(), call: null, pendingNodes: [], nodeId };
    agents.push(a);
    const rootOf = (x: SimAgent): SimAgent => (x.parent ? rootOf(x.parent) : x);
    const spawnedEvent = ev('AgentSpawned', {
      agentId: id, parentId: parent?.id ?? null, rootId: rootOf(a).id, depth: a.depth, kind, role: pick(['lead', 'coder', 'tester', 'reviewer']),
      task: `task ${id}`, budget, workspace: null, timeoutMs: null, maxTurns: 8, model: null, ...(nodeId ? { nodeId } : {}),
    });
    if (kind === 'workflow') {
      const nodes = Array.from({ length: int(1, 4) }, (_, i) => ({ id: `n${i}`, role: pick(['coder', 'tester']), task: 't', budgetPercent: 20, dependencies: i > 0 ? [`n${i - 1}`] : [] }));
      a.pendingNodes = nodes.map((x) => x.id);
      push(a, spawnedEvent, ev('WorkflowPlanned', { source: 'graph', templateId: rand() < 0.5 ? 'tdd-workflow' : null, graph: { nodes } }));
    } else push(a, spawnedEvent);
    return a;
  };

  for (let step = 0; step < steps; step++) {
    const running = agents.filter((a) => a.status === 'running');
    const options: (() => void)[] = [];
    if (agents.filter((a) => !a.parent).length < 3) options.push(() => void spawn(null, int(1000, 50_000), rand() < 0.3 ? 'workflow' : 'agent', null));
    for (const a of agents.filter((x) => x.status === 'spawned')) options.push(() => {
      a.status = 'running';
      push(a, ev('AgentRunRequested', {}), ev('AgentStarted', { deadline: rand() < 0.5 ? null : new Date(clock + 60_000).toISOString() }));
    });
    for (const a of running) {
      const avail = available(a.ledger);
      if (avail >= 1 && a.depth < 4 && !a.call) options.push(() => {
        const amount = int(1, Math.max(1, Math.floor(avail / 2)));
        const nodeId = a.kind === 'workflow' && a.pendingNodes.length > 0 ? a.pendingNodes.shift()! : null;
        const child = spawn(a, amount, rand() < 0.1 ? 'workflow' : 'agent', nodeId);
        // The parent's record first in real life; either order is a valid history for projections.
        const spawned = { childId: child.id, role: 'coder', task: 't', budget: amount, kind: child.kind, ...(nodeId ? { nodeId } : {}) };
        // Today's (v4: delegates and starts the node), v3's (then a NodeStarted), v1's (then a BudgetDelegated and a NodeStarted).
        const shape = rand();
        const parentEvents = shape < 0.35
          ? [current('ChildSpawned', { ...spawned, spec: null, delegatesBudget: true, nodeAttempt: nodeId ? 1 : null })]
          : shape < 0.65 ? [versioned('ChildSpawned', 3, { ...spawned, spec: null, delegatesBudget: true })]
            : [ev('ChildSpawned', spawned), ev('BudgetDelegated', { childId: child.id, amount })];
        if (nodeId && shape >= 0.35) parentEvents.push(ev('NodeStarted', { nodeId, childId: child.id, attempt: 1, budget: amount }));
        push(a, ...parentEvents);
        a.live.add(child.id);
      });
      if (avail >= 1 && !a.call) options.push(() => {
        const amount = int(1, avail);
        // Today's request reserves under its call id itself (v2); an old one had a BudgetReserved beside it.
        const callId = uuid(rand);
        const v2 = rand() < 0.5;
        a.call = { callId, resId: v2 ? callId : `res-${n++}`, amount, v2 };
        const asked = { callId, turn: 0, provider: 'offline', model: 'm', requestRef: 'ref', reserved: amount };
        if (v2) push(a, current('ModelRequested', { ...asked, reserves: true }));
        else push(a, ev('ModelRequested', asked), ev('BudgetReserved', { reservationId: a.call.resId, amount }));
      });
      if (a.call) options.push(() => {
        const c = a.call!;
        a.call = null;
        if (rand() < 0.75) {
          // Now and then a provider reports more than was reserved: an overspend, charged up the chain.
          const over = rand() < 0.15;
          const used = over ? c.amount + int(1, a.ledger.allocated + 1) : int(0, c.amount);
          const cost = Math.round(used * 3) / 1e6;
          const replied = { callId: c.callId, model: 'm', content: [{ type: 'text', text: 'ok' }], stopReason: 'end_turn',
            usage: { inputTokens: used, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 }, costUsd: cost };
          if (c.v2) push(a, current('ModelReplied', { ...replied, settles: true }));
          else push(a, ev('ModelReplied', replied), ev('BudgetSettled', { reservationId: c.resId, consumed: used, model: 'm', costUsd: cost }));
          if (over) push(a, ev('BudgetOverspent', { reservationId: c.resId, reserved: c.amount, consumed: used, excess: used - c.amount }));
        } else {
          push(a, ev('ModelFailed', { callId: c.callId, error: 'overloaded', retryable: false }), ev('BudgetReleased', { reservationId: c.resId, reason: 'call failed' }));
        }
      });
      options.push(() => {
        const r = rand();
        if (r < 0.3) push(a, ev('ToolCalled', { toolUseId: 't1', name: 'read_file', input: { path: 'x' } }), ev('ToolReturned', { toolUseId: 't1', name: 'read_file', output: 'x'.repeat(int(0, 3000)), isError: false }));
        else if (r < 0.5) push(a, ev('MessageSent', { messageId: uuid(rand), to: pick(agents).id, payload: { hi: 1 }, priority: int(0, 9), dedupeKey: null }));
        else if (r < 0.7) push(a, ev('FutureThingHappened', { v: 1 }));
        else if (r < 0.8 && a.kind === 'workflow' && a.pendingNodes.length > 0) push(a, ev('NodeSkipped', { nodeId: a.pendingNodes.shift()!, reason: 'dependency failed' }));
        else out.push({ stream: `other-${int(1, 3)}`, events: [ev('SomethingElse', {})] });
      });
      if (!a.call && a.live.size === 0) options.push(() => {
        a.status = 'ended';
        const returned = available(a.ledger);
        const r = rand();
        const terminal = r < 0.6 ? ev('AgentCompleted', { output: `out ${a.id} ${'y'.repeat(int(0, 2500))}`, returned })
          : r < 0.85 ? ev('AgentFailed', { reason: 'boom', partialOutput: rand() < 0.5 ? null : 'partial', returned, cause: 'model_error' })
            : ev('AgentTerminated', { reason: 'fired', by: a.parent?.id ?? null, returned });
        push(a, terminal);
        const p = a.parent;
        if (p) {
          const status = terminal.type === 'AgentCompleted' ? 'completed' : terminal.type === 'AgentFailed' ? 'failed' : 'terminated';
          const allocated = p.ledger.delegations[a.id] ?? 0;
          const reclaimed = { allocated, returned, spent: allocated - Math.min(returned, allocated) + overspent(a.ledger), overspent: overspent(a.ledger) };
          // Today's (v3: reclaims and completes the node), v2's (then a NodeCompleted), v1's (then a BudgetReclaimed and a NodeCompleted).
          const shape = rand();
          const output = rand() < 0.5 ? null : 'node out';
          const completes = a.nodeId !== null && status === 'completed';
          const events = shape < 0.35
            ? [current('ChildFinished', { childId: a.id, status, output, reclaim: reclaimed, completesNode: completes ? a.nodeId : null })]
            : shape < 0.65 ? [versioned('ChildFinished', 2, { childId: a.id, status, output, reclaim: reclaimed })]
              : [ev('ChildFinished', { childId: a.id, status, output }), ev('BudgetReclaimed', { childId: a.id, ...reclaimed })];
          if (a.nodeId && !(completes && shape < 0.35)) {
            events.push(completes ? ev('NodeCompleted', { nodeId: a.nodeId, childId: a.id, output: output ?? '' })
              : ev('NodeFailed', { nodeId: a.nodeId, childId: a.id, attempt: 1, reason: 'child failed', willRetry: false }));
          }
          push(p, ...events);
          p.live.delete(a.id);
        }
      });
    }
    if (options.length === 0) continue;
    pick(options)();
  }
  return out;
}

// ---- the property ------------------------------------------------------------------------------

const snapshotQueries = (schema: string): Record<string, string> => ({
  agents: `SELECT * FROM ${schema}.agents ORDER BY agent_id`,
  workflow_runs: `SELECT * FROM ${schema}.workflow_runs ORDER BY run_id`,
  workflow_nodes: `SELECT * FROM ${schema}.workflow_nodes ORDER BY run_id, node_id`,
  agent_status_counts: `SELECT t.root_id, v.status, v.n::int AS n FROM ${schema}.agent_tree_totals t
    CROSS JOIN LATERAL (VALUES ('spawned', t.spawned), ('running', t.running), ('waiting', t.waiting), ('completed', t.completed), ('failed', t.failed), ('terminated', t.terminated)) AS v(status, n)
    WHERE v.n <> 0 ORDER BY t.root_id, v.status`,
  agent_status_recounted: `SELECT root_id, status, count(*)::int AS n FROM ${schema}.agents GROUP BY root_id, status ORDER BY root_id, status`,
  agent_tree_totals: `SELECT root_id, agents::int, consumed::bigint, reserved::bigint, cost_usd::numeric FROM ${schema}.agent_tree_totals WHERE agents <> 0 ORDER BY root_id`,
  agent_tree_summed: `SELECT root_id, count(*)::int AS agents, sum(consumed)::bigint AS consumed, sum(reserved)::bigint AS reserved, sum(cost_usd)::numeric AS cost_usd
    FROM ${schema}.agents GROUP BY root_id ORDER BY root_id`,
});

async function snapshot(sql: SqlClient, schema: string): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [name, q] of Object.entries(snapshotQueries(schema))) out[name] = (await sql.query(q)).rows;
  return out;
}

/** A row's budget; `overspent` is the view's own column, or (agents rows have none) derived as the reports do. */
function toStatus(r: Record<string, unknown>): BudgetStatus {
  const b = { allocated: Number(r.allocated), consumed: Number(r.consumed), reserved: Number(r.reserved), delegated: Number(r.delegated), spentBySubtree: Number(r.spent_by_subtree) };
  return { ...b, reclaimed: Number(r.reclaimed), available: Number(r.available), overspent: r.overspent === undefined ? overspent(b) : Number(r.overspent) };
}

/** An agent's balance summed from its ledger rows, as the retired `budget_balances` view summed them. */
function balanceOfLedger(rows: readonly LedgerRow[]): BudgetStatus {
  const sum = (kind: string, field: 'amount' | 'held' | 'spent' = 'amount'): number => rows.filter((r) => r.kind === kind).reduce((n, r) => n + r[field], 0);
  const b = {
    allocated: sum('allocated'), consumed: sum('settled'), reserved: sum('reserved') - sum('settled', 'held') - sum('released'),
    delegated: sum('delegated') - sum('reclaimed', 'held'), spentBySubtree: sum('reclaimed', 'spent'),
  };
  const left = b.allocated - b.consumed - b.reserved - b.delegated - b.spentBySubtree;
  return { ...b, reclaimed: sum('reclaimed'), available: Math.max(0, left), overspent: Math.max(0, -left) };
}

describe.each(sqlTargets)('projections: incremental with crashes = rebuild from 0 ($name)', (target) => {
  let sql: SqlClient;
  beforeAll(async () => {
    sql = await target.open();
  });
  afterAll(async () => {
    await sql?.close();
  });

  it('random histories, random batch sizes, random stop/restart points', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 30 }),
        fc.integer({ min: 20, max: 90 }),
        fc.array(fc.record({ cut: fc.double({ min: 0, max: 1, noNaN: true }), batch: fc.integer({ min: 1, max: 40 }), live: fc.boolean(), stopAt: fc.double({ min: 0, max: 1, noNaN: true }) }), { minLength: 1, maxLength: 4 }),
        async (seed, steps, phases) => {
          runs++;
          const history = generateHistory(seed, steps);
          const store = await openPostgresEventStore({ sql, schema: freshSchema('es'), pollIntervalMs: 10 });
          const schema = freshSchema('pr');
          const revs = new Map<string, bigint>();
          const positions: bigint[] = [];
          const appendUpTo = async (from: number, to: number) => {
            for (let i = from; i < to; i++) {
              const a = history[i]!;
              const r = await store.append(a.stream, a.events, { expectedRevision: revs.get(a.stream) ?? 'no_stream' });
              revs.set(a.stream, r.nextExpectedRevision);
              positions.push(r.position);
            }
          };
          const cuts = [...phases.map((p) => Math.floor(p.cut * history.length)).sort((x, y) => x - y), history.length];
          let appended = 0;
          try {
            for (const [i, phase] of phases.entries()) {
              const runner = new ProjectionRunner({ store, sql, schema, projections: defaultProjections(), batchSize: phase.batch, retry: { initialMs: 5 } });
              const until = Math.max(appended, cuts[i] ?? history.length);
              if (phase.live) {
                await runner.start();
                await appendUpTo(appended, until);
              } else {
                await appendUpTo(appended, until);
                await runner.start();
              }
              appended = until;
              // Stop ("crash") somewhere between the beginning and the end of what is there.
              const target = positions[Math.floor(phase.stopAt * positions.length)];
              if (target !== undefined) await runner.waitFor(target, 20_000);
              await runner.stop();
            }
            await appendUpTo(appended, history.length);
            const runner = new ProjectionRunner({ store, sql, schema, projections: defaultProjections(), batchSize: 25 });
            await runner.start();
            await runner.waitFor(positions.at(-1) ?? 0n, 20_000);
            const incremental = await snapshot(sql, schema);
            for (const name of runner.projectionNames) await runner.rebuild(name);
            const rebuilt = await snapshot(sql, schema);
            const status = await runner.status();
            await runner.stop();

            expect(rebuilt).toEqual(incremental);
            // The trigger-kept counts are the counts.
            expect(incremental.agent_status_counts).toEqual(incremental.agent_status_recounted);
            expect(incremental.agent_tree_totals).toEqual(incremental.agent_tree_summed);
            expect(status.every((s) => s.suffix === `v${s.version}_r1` && s.lagEvents === 0)).toBe(true);

            // Exactly once: every agent's row counted each of its (known) events once.
            const known = new Map<string, number>();
            for (const a of history) {
              if (!a.stream.startsWith('agent-')) continue;
              known.set(a.stream.slice(6), (known.get(a.stream.slice(6)) ?? 0) + a.events.filter((e) => e.type !== 'FutureThingHappened').length);
            }
            const agents = incremental.agents as Record<string, unknown>[];
            expect(agents.length).toBe(known.size);
            for (const row of agents) {
              expect(Number(row.event_count)).toBe(known.get(String(row.agent_id)));
            }

            // The agents' budget columns and the ledger derived from each stream agree with src/actors/budget.ts.
            const expected = foldBudgets(history);
            for (const row of agents) {
              const id = String(row.agent_id);
              const want = budgetStatus(expected.get(id)!);
              expect(toStatus(row)).toEqual(want);
              const stream = (await store.readStream(`agent-${id}`)).filter((e) => e.type in eventSchemas).map(parseRecorded);
              expect(balanceOfLedger(ledgerOf(id, stream))).toEqual(want);
            }
          } finally {
            await store.close();
            await sql.query(`DROP SCHEMA ${schema} CASCADE`);
            await sql.query(`DROP SCHEMA ${store.schema} CASCADE`);
          }
        },
      ),
      { numRuns: 8 },
    );
    expect(runs).toBeGreaterThan(0);
  });
});

describe('the history generator', () => {
  it('covers trees, model calls, delegation, reclaim, terminal events and workflow nodes', () => {
    const types = new Map<string, number>();
    let maxDepth = 0;
    for (let seed = 1; seed <= 30; seed++) {
      for (const a of generateHistory(seed, 60)) {
        for (const e of a.events) {
          types.set(e.type, (types.get(e.type) ?? 0) + 1);
          // Old shapes and today's both: a spawn that delegates (and starts a node), an end that reclaims (and completes a node).
          const version = (e.metadata as { schemaVersion: number }).schemaVersion;
          if (e.type === 'ChildSpawned' || e.type === 'ChildFinished') types.set(`${e.type}@v${version}`, (types.get(`${e.type}@v${version}`) ?? 0) + 1);
          if (e.type === 'AgentSpawned') maxDepth = Math.max(maxDepth, (e.data as { depth: number }).depth);
        }
      }
    }
    for (const t of ['AgentSpawned', 'AgentStarted', 'ChildSpawned', 'BudgetDelegated', 'BudgetReserved', 'BudgetSettled', 'BudgetReleased',
      'BudgetReclaimed', 'AgentCompleted', 'AgentFailed', 'AgentTerminated', 'WorkflowPlanned', 'NodeStarted', 'NodeSkipped', 'FutureThingHappened',
      'ChildSpawned@v1', 'ChildSpawned@v3', 'ChildSpawned@v4', 'ChildFinished@v1', 'ChildFinished@v2', 'ChildFinished@v3']) {
      expect(types.get(t) ?? 0, t).toBeGreaterThan(0);
    }
    expect((types.get('NodeCompleted') ?? 0) + (types.get('NodeFailed') ?? 0)).toBeGreaterThan(0);
    expect(maxDepth).toBeGreaterThanOrEqual(2);
  });
});
