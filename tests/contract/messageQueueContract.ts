import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentSystem } from '../../src/system.js';
import type { SqlClient } from '../../src/infra/sql/sqlClient.js';
import { createMessaging, type MessagingService, type MessagingOptions } from '../../src/messaging/index.js';
import { InboxFull, InvalidInput, MessageTooLarge, RecipientUnavailable } from '../../src/errors.js';
import { silentLogger } from '../../src/actors/ports/runtimePorts.js';
import { freshSchema } from '../support/testDb.js';
import { testSystem, type StoreKind } from '../support/system.js';

export interface MessageQueueTarget {
  readonly name: StoreKind;
  /** Whether several connections really run at once (false on PGlite: one connection). */
  readonly concurrent: boolean;
  /**
   * Keep the queue in a schema of its own, away from the event store's: no outbox trigger, so
   * every row comes from the projection of MessageSent (the path other stores, like
   * EventStoreDB, always take).
   */
  readonly projected?: boolean;
}

/** The options every contract test runs with unless it says otherwise: small, fast bounds. */
export const contractOptions: MessagingOptions = { inboxLimit: 20, sendTimeoutMs: 300, visibilityTimeoutMs: 600, maxAttempts: 3 };

export function openMessaging(system: AgentSystem, options: MessagingOptions = contractOptions, queueSchema = system.schema, sql: SqlClient = system.internal.sql): MessagingService {
  return createMessaging({ runtime: system.internal.runtime, store: system.store, sql, schema: queueSchema, logger: silentLogger, options });
}

/**
 * The system's SQL client, telling a test when a statement about one recipient has run: the
 * explicit signal that a receiver has looked (and now waits) or a sender has found the inbox
 * full (and now waits), instead of a sleep that hopes it has.
 */
function watchedSql(sql: SqlClient): { sql: SqlClient; after(recipient: string, statement: RegExp): Promise<void> } {
  const waiting: Array<{ recipient: string; statement: RegExp; done: () => void }> = [];
  const watched: SqlClient = {
    kind: sql.kind,
    async query(text, params, options) {
      const r = await sql.query(text, params, options);
      for (const w of [...waiting]) {
        if (params?.[0] === w.recipient && w.statement.test(text)) {
          waiting.splice(waiting.indexOf(w), 1);
          w.done();
        }
      }
      return r as never;
    },
    transaction: (fn) => sql.transaction(fn),
    exec: (text) => sql.exec(text),
    listen: (channel, onNotify) => sql.listen(channel, onNotify),
    close: () => sql.close(),
  };
  return { sql: watched, after: (recipient, statement) => new Promise((done) => waiting.push({ recipient, statement, done })) };
}
/** The queue's claim of a recipient's messages (a receive looking). */
const CLAIM = /FOR UPDATE SKIP LOCKED/;
/** The inbox depth check a sender makes before it sends. */
const DEPTH = /SELECT count\(\*\) AS n FROM \S+\.messages WHERE recipient = \$1/;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await sleep(25);
  }
}

/**
 * The message queue contract: the same behaviour on every SQL backend (STYLE.md: one contract
 * suite per port). Each test uses agents of its own, so tests share one system.
 */
export function messageQueueContract(target: MessageQueueTarget): void {
  describe(`message queue contract: ${target.name}${target.projected ? ' (queue projected, no outbox)' : ''}`, () => {
    let system: AgentSystem;
    let mq: MessagingService;
    let sql: ReturnType<typeof watchedSql>;
    const spawn = async (role = 'peer'): Promise<string> => (await system.spawn({ role, task: 'exchange messages', budget: 1000 })).id;
    const queueSchema = (): string => (target.projected ? `${system.schema}_queue` : system.schema);
    const open = (options?: MessagingOptions): MessagingService => openMessaging(system, options, queueSchema(), sql.sql);
    const reopen = async (options?: MessagingOptions): Promise<void> => {
      await mq.stop();
      mq = open(options);
      await mq.start();
    };

    // File-backed on PGlite so that the restart test can reopen the same database (reopening
    // takes ~1 s; a second fresh PGlite would take several).
    const dir = target.name === 'pglite' ? mkdtempSync(join(tmpdir(), 'cadre-mq-')) : undefined;
    const systemOptions = { schema: freshSchema('mq'), ...(dir ? { store: { kind: 'pglite' as const, dataDir: dir } } : {}) };

    beforeAll(async () => {
      system = await testSystem(target.name, systemOptions);
      sql = watchedSql(system.internal.sql);
      mq = open();
      await mq.start();
    });
    afterAll(async () => {
      await mq?.stop();
      await system?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('delivers in priority order, then send order, and records the three events', async () => {
      const [a, b] = [await spawn('sender'), await spawn('recipient')];
      const sent: { id: string; priority: number }[] = [];
      for (const [i, priority] of [1, 5, 9, 5, 1, 9, 0].entries()) {
        const { messageId } = await mq.send(a, b, { i }, { priority });
        sent.push({ id: messageId, priority });
      }
      const expected = sent.map((s, i) => ({ ...s, i })).sort((x, y) => y.priority - x.priority || x.i - y.i).map((s) => s.id);
      const got = await mq.receive(b, { max: 100 });
      expect(got.map((m) => m.messageId)).toEqual(expected);
      expect(got.every((m) => m.from === a && m.attempt === 1)).toBe(true);
      await mq.ack(b, got.map((m) => m.messageId));
      const sentEvents = (await system.history(a)).filter((e) => e.type === 'MessageSent');
      expect(sentEvents.map((e) => (e.data as { messageId: string }).messageId)).toEqual(sent.map((s) => s.id));
      const types = (await system.history(b)).map((e) => e.type);
      expect(types.filter((t) => t === 'MessageReceived')).toHaveLength(7);
      expect(types.filter((t) => t === 'MessageAcked')).toHaveLength(7);
      expect(await mq.queueDepth(b)).toBe(0);
    });

    it('keeps each sender’s order within a priority under concurrent senders', async () => {
      const senders = [await spawn('s1'), await spawn('s2'), await spawn('s3')];
      const to = await spawn('inbox');
      const sent = new Map<string, { sender: string; seq: number; priority: number }>();
      await Promise.all(
        senders.map(async (s) => {
          for (let seq = 0; seq < 6; seq++) {
            const priority = seq % 3 === 0 ? 7 : 2;
            const { messageId } = await mq.send(s, to, { seq }, { priority });
            sent.set(messageId, { sender: s, seq, priority });
          }
        }),
      );
      const got = await mq.receive(to, { max: 100, ack: true });
      expect(got).toHaveLength(18);
      const meta = got.map((m) => sent.get(m.messageId)!);
      // Priority never rises along the delivery order.
      for (let i = 1; i < meta.length; i++) expect(meta[i]!.priority).toBeLessThanOrEqual(meta[i - 1]!.priority);
      // Within a priority, each sender's messages come in the order it sent them.
      for (const s of senders) {
        for (const p of [7, 2]) {
          const seqs = meta.filter((m) => m.sender === s && m.priority === p).map((m) => m.seq);
          expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
        }
      }
    });

    it('never hands one message to two concurrent receivers', async () => {
      const [a, b] = [await spawn(), await spawn()];
      const n = 20;
      for (let i = 0; i < n; i++) await mq.send(a, b, { i });
      const seen: string[] = [];
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let idle = 0; idle < 3; ) {
            const got = await mq.receive(b, { max: 2, ack: true });
            if (got.length === 0) idle++;
            for (const m of got) seen.push(m.messageId);
          }
        }),
      );
      expect(seen).toHaveLength(n);
      expect(new Set(seen).size).toBe(n);
    });

    it('redelivers a claimed message after the visibility timeout, then dead-letters it', async () => {
      const [a, b] = [await spawn(), await spawn()];
      const { messageId } = await mq.send(a, b, 'hello');
      const first = await mq.receive(b);
      expect(first.map((m) => [m.messageId, m.attempt])).toEqual([[messageId, 1]]);
      expect(await mq.receive(b)).toEqual([]); // invisible while claimed
      const t0 = Date.now();
      const second = await mq.receive(b, { waitMs: 3000 });
      expect(Date.now() - t0).toBeGreaterThan(300);
      expect(second.map((m) => [m.messageId, m.attempt])).toEqual([[messageId, 2]]);
      const third = await mq.receive(b, { waitMs: 3000 });
      expect(third.map((m) => m.attempt)).toEqual([3]);
      // Three deliveries without an ack: the fourth claim dead-letters it instead.
      expect(await mq.receive(b, { waitMs: 1500 })).toEqual([]);
      const dead = await mq.deadLetters({ recipient: b });
      expect(dead.map((d) => [d.messageId, d.attempts, d.from])).toEqual([[messageId, 3, a]]);
      expect(dead[0]!.reason).toMatch(/not acknowledged after 3 deliveries/);
      expect(await mq.queueDepth(b)).toBe(0);
      const received = (await system.history(b)).filter((e) => e.type === 'MessageReceived').map((e) => (e.data as { attempt: number }).attempt);
      expect(received).toEqual([1, 2, 3]);
    });

    it('an ack after the first delivery stops redelivery', async () => {
      const [a, b] = [await spawn(), await spawn()];
      await mq.send(a, b, 1);
      const [m] = await mq.receive(b);
      expect(await mq.ack(b, [m!.messageId])).toEqual([m!.messageId]);
      expect(await mq.ack(b, [m!.messageId])).toEqual([]); // acknowledged once only
      expect(await mq.receive(b, { waitMs: 900 })).toEqual([]);
      expect((await system.history(b)).filter((e) => e.type === 'MessageAcked')).toHaveLength(1);
    });

    it('long-polls: a waiting receiver wakes when a message arrives', async () => {
      const [a, b] = [await spawn(), await spawn()];
      const looked = sql.after(b, CLAIM);
      // A 10-minute wait: only the send can end it within the test's time.
      const waiting = mq.receive(b, { waitMs: 600_000 });
      await looked; // the receiver found nothing and waits
      await mq.send(a, b, { wake: true });
      const got = await waiting;
      expect(got.map((m) => m.payload)).toEqual([{ wake: true }]);
      const t1 = Date.now();
      expect(await mq.receive(b, { waitMs: 200 })).toEqual([]);
      expect(Date.now() - t1).toBeGreaterThanOrEqual(190);
    });

    it('long-polls: a message recorded by a sender that died before waking anyone still wakes the receiver', async () => {
      // The sender's process appended MessageSent and was gone before any signal or NOTIFY:
      // here, the event is recorded straight through the runtime, bypassing messaging.
      const [a, b] = [await spawn(), await spawn()];
      const looked = sql.after(b, CLAIM);
      const waiting = mq.receive(b, { waitMs: 600_000 });
      await looked;
      const messageId = randomUUID();
      await system.internal.runtime.execute(a, () => [{ type: 'MessageSent', data: { messageId, to: b, payload: { orphan: true }, priority: 5, dedupeKey: null } }]);
      const got = await waiting;
      expect(got.map((m) => m.messageId)).toEqual([messageId]);
    });

    it('backpressure: a full inbox refuses after the timeout, naming recipient and depth', async () => {
      const [a, b] = [await spawn(), await spawn()];
      for (let i = 0; i < 20; i++) await mq.send(a, b, i);
      const t0 = Date.now();
      const err = await mq.send(a, b, 'one too many').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InboxFull);
      expect(err).toMatchObject({ recipientId: b, depth: 20, limit: 20 });
      expect((err as Error).message).toContain(b);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      expect(await mq.queueDepth(b)).toBe(20);
    });

    it('backpressure: a sender waits for room and goes through when the recipient acks', async () => {
      const [a, b] = [await spawn(), await spawn()];
      for (let i = 0; i < 20; i++) await mq.send(a, b, i);
      const full = sql.after(b, DEPTH);
      const waiting = mq.send(a, b, 'late', { timeoutMs: 600_000 });
      await full; // the sender found the inbox full and waits for room
      const [m] = await mq.receive(b, { max: 1 });
      await mq.ack(b, [m!.messageId]);
      await expect(waiting).resolves.toMatchObject({ messageId: expect.any(String) });
      expect(await mq.queueDepth(b)).toBe(20);
    });

    it('dedupe: the same key from the same sender is one message, delivered once', async () => {
      const [a, b, c] = [await spawn(), await spawn(), await spawn()];
      const [x, y] = await Promise.all([mq.send(a, b, 'once', { dedupeKey: 'k1' }), mq.send(a, b, 'once', { dedupeKey: 'k1' })]);
      const z = await mq.send(a, b, 'once', { dedupeKey: 'k1' });
      const other = await mq.send(c, b, 'once', { dedupeKey: 'k1' });
      expect(x.messageId).toBe(y.messageId);
      expect(z.messageId).toBe(x.messageId);
      expect(other.messageId).not.toBe(x.messageId);
      const got = await mq.receive(b, { max: 10, ack: true });
      expect(got.map((m) => m.messageId).sort()).toEqual([x.messageId, other.messageId].sort());
      // The same key to another recipient is refused, not answered with the first message's id
      // while nothing is sent (an attacker's try).
      await expect(mq.send(a, c, 'once', { dedupeKey: 'k1' })).rejects.toThrow(/options\.dedupeKey.*a key names one message/);
      // Also when both are under way at once in one process.
      const [first, second] = await Promise.allSettled([mq.send(a, b, 'twice', { dedupeKey: 'k2' }), mq.send(a, c, 'twice', { dedupeKey: 'k2' })]);
      expect(first.status).toBe('fulfilled');
      expect(second).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: expect.stringMatching(/a key names one message/) }) });
      expect(await mq.queueDepth(c)).toBe(0);
    });

    it('refuses oversized and non-JSON payloads, naming the field', async () => {
      const [a, b] = [await spawn(), await spawn()];
      const big = await mq.send(a, b, { blob: 'x'.repeat(300 * 1024) }).catch((e: unknown) => e);
      expect(big).toBeInstanceOf(MessageTooLarge);
      expect(big).toMatchObject({ limit: 256 * 1024 });
      expect((big as MessageTooLarge).bytes).toBeGreaterThan(300 * 1024);
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      const cases: [unknown, string][] = [
        [{ a: { fn: () => 1 } }, 'payload.a.fn'],
        [{ n: 10n }, 'payload.n'],
        [{ list: [1, undefined] }, 'payload.list[1]'],
        [cyclic, 'payload.self'],
        [{ when: new Date() }, 'payload.when'],
        [{ x: Number.NaN }, 'payload.x'],
        [{ s: 'nul\u0000' }, 'payload.s'],
      ];
      for (const [payload, field] of cases) {
        const err = await mq.send(a, b, payload).catch((e: unknown) => e);
        expect(err, field).toBeInstanceOf(InvalidInput);
        expect((err as InvalidInput).field).toBe(field);
      }
      const badPriority = await mq.send(a, b, 1, { priority: 10 }).catch((e: unknown) => e);
      expect(badPriority).toMatchObject({ field: 'options.priority' });
      expect(await mq.queueDepth(b)).toBe(0);
      expect((await system.history(a)).some((e) => e.type === 'MessageSent')).toBe(false);
    });

    it('unknown and terminated recipients fail clearly; a terminated agent’s messages are dead-lettered', async () => {
      const [a, b] = [await spawn(), await spawn()];
      const unknown = await mq.send(a, 'no-such-agent', 1).catch((e: unknown) => e);
      expect(unknown).toBeInstanceOf(RecipientUnavailable);
      expect(unknown).toMatchObject({ recipientId: 'no-such-agent' });
      await mq.send(a, b, 'first');
      await mq.send(a, b, 'second');
      await mq.receive(b, { max: 1 }); // one in flight, one pending
      await system.terminate(b, 'done with it');
      const gone = await mq.send(a, b, 'late').catch((e: unknown) => e);
      expect(gone).toBeInstanceOf(RecipientUnavailable);
      expect((gone as Error).message).toMatch(/terminated/);
      const dead = await eventually(() => mq.deadLetters({ recipient: b }), (d) => d.length === 2);
      expect(dead.map((d) => [d.payload, d.reason])).toEqual([
        ['first', 'recipient terminated'],
        ['second', 'recipient terminated'],
      ]);
      expect(await mq.queueDepth(b)).toBe(0);
      await expect(mq.receive(b)).rejects.toBeInstanceOf(RecipientUnavailable);
    });

    it('property: random send/receive/ack/crash schedules lose nothing and ack at most once', async () => {
      const fast: MessagingOptions = { inboxLimit: 50, sendTimeoutMs: 100, visibilityTimeoutMs: 60, maxAttempts: 2 };
      await reopen(fast);
      const peers = [await spawn(), await spawn(), await spawn()];
      const idx = fc.integer({ min: 0, max: 2 });
      const command = fc.oneof(
        fc.record({ kind: fc.constant('send' as const), from: idx, to: idx, priority: fc.integer({ min: 0, max: 9 }) }),
        fc.record({ kind: fc.constant('receive' as const), who: idx, max: fc.integer({ min: 1, max: 3 }), ackSome: fc.boolean() }),
        fc.record({ kind: fc.constant('claimOnly' as const), who: idx }),
        fc.record({ kind: fc.constant('crash' as const) }),
        fc.record({ kind: fc.constant('pause' as const) }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 14 }), async (cmds) => {
          const sent = new Map<string, string>();
          for (const c of cmds) {
            if (c.kind === 'send') {
              const { messageId } = await mq.send(peers[c.from]!, peers[c.to]!, { c }, { priority: c.priority });
              sent.set(messageId, peers[c.to]!);
            } else if (c.kind === 'receive') {
              const got = await mq.receive(peers[c.who]!, { max: c.max });
              if (c.ackSome) await mq.ack(peers[c.who]!, got.filter((_, i) => i % 2 === 0).map((m) => m.messageId));
            } else if (c.kind === 'claimOnly') {
              await mq.port.receive(peers[c.who]!, { max: 2 }); // claimed, then the process "dies"
            } else if (c.kind === 'crash') {
              await reopen(fast);
            } else {
              await sleep(70);
            }
          }
          // Drain: receive and ack until every inbox is empty (redeliveries included).
          for (const p of peers) {
            while ((await mq.queueDepth(p)) > 0) await mq.receive(p, { max: 50, ack: true, waitMs: 200 });
          }
          const acks = new Map<string, number>();
          for (const p of peers) {
            for (const e of await system.history(p)) if (e.type === 'MessageAcked') {
              const id = (e.data as { messageId: string }).messageId;
              acks.set(id, (acks.get(id) ?? 0) + 1);
            }
          }
          const dead = new Set((await mq.deadLetters({ limit: 100_000 })).map((d) => d.messageId));
          for (const id of sent.keys()) {
            const n = acks.get(id) ?? 0;
            expect(n <= 1, `message ${id} acked ${n} times`).toBe(true);
            expect(n === 1 || dead.has(id), `message ${id} lost`).toBe(true);
            expect(n === 1 && dead.has(id)).toBe(false);
          }
        }),
        { numRuns: 12 },
      );
      await reopen();
    });

    it('messages survive a restart of the process (a new system on the same database)', async () => {
      const [a, b] = [await spawn('a'), await spawn('b')];
      const ids: string[] = [];
      for (const p of [1, 9, 4]) ids.push((await mq.send(a, b, { p }, { priority: p })).messageId);
      const [claimed] = await mq.receive(b, { max: 1 }); // in flight when the process dies
      expect(claimed!.messageId).toBe(ids[1]);
      await mq.stop();
      await system.close();

      system = await testSystem(target.name, systemOptions);
      sql = watchedSql(system.internal.sql); // the new process's client: the old one is closed
      mq = open({ ...contractOptions, visibilityTimeoutMs: 200 });
      await mq.start();
      expect(await mq.queueDepth(b)).toBe(3);
      const got = await mq.receive(b, { max: 10, ack: true, waitMs: 2000 });
      const redelivered = got.length < 3 ? await mq.receive(b, { max: 10, ack: true, waitMs: 2000 }) : [];
      const all = [...got, ...redelivered];
      expect(all.map((m) => m.messageId).sort()).toEqual([...ids].sort());
      expect(all.find((m) => m.messageId === ids[1])!.attempt).toBe(2);
      // The projection resumed from its checkpoint: old sends are not materialised again.
      await mq.send(a, b, 'after restart');
      expect((await mq.receive(b, { max: 10 })).map((m) => m.payload)).toEqual(['after restart']);
      await reopen();
    });

    // PGlite has one connection: two queue processes sharing it prove nothing, so it runs on Postgres only.
    if (target.concurrent) it('two queue processes on one database share the work without duplicates', async () => {
      const other = open();
      await other.start();
      try {
        const [a, b] = [await spawn(), await spawn()];
        // Sends through one process become receivable through the other (NOTIFY across connections).
        const waiting = other.receive(b, { waitMs: 5000, ack: true });
        await mq.send(a, b, 'cross');
        expect((await waiting).map((m) => m.payload)).toEqual(['cross']);
        for (let i = 0; i < 10; i++) await (i % 2 ? mq : other).send(a, b, i);
        const seen: string[] = [];
        await Promise.all([mq, other].map(async (q) => {
          for (let idle = 0; idle < 3; ) {
            const got = await q.receive(b, { max: 2, ack: true });
            if (got.length === 0) idle++;
            for (const m of got) seen.push(m.messageId);
          }
        }));
        expect(seen).toHaveLength(10);
        expect(new Set(seen).size).toBe(10);
      } finally {
        await other.stop();
      }
    });
  });
}
