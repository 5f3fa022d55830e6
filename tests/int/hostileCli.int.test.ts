import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { AgentSystem } from '../../src/system.js';
import { buildProgram } from '../../src/cli/program.js';
import { CliError, exitCodeOf, formatError } from '../../src/cli/cliError.js';
import type { CliContext } from '../../src/cli/context.js';
import { createStyle } from '../../src/cli/render/style.js';
import { isCadreError } from '../../src/errors.js';
import { testSystem } from '../support/system.js';

/**
 * Every CLI command with malformed, oversized and adversarial arguments, in-process against a
 * real system: each invocation is refused with one readable line (`cadre: …`, a cadre or CLI
 * error, never a bare TypeError or a stack), a usage / not-found / failure exit code, nothing is
 * written, and the system keeps answering.
 */
const RUNS = Number(process.env.CADRE_HOSTILE_RUNS ?? 40);

const sqlish = fc.constantFrom("'; DROP TABLE events; --", '" OR 1=1 --', "x' UNION SELECT * FROM pg_shadow --", '$(rm -rf /)', '`id`', '%n%n%n');
const badId = fc.oneof(
  sqlish,
  fc.constantFrom('', ' ', '../../etc/passwd', '-rf', 'a'.repeat(5000), 'ünï', '\u202eevil', 'a\nb', '🚀', '*', '%', '_'),
  fc.string({ maxLength: 30 }).filter((s) => !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/.test(s.trim())),
);
const badNumber = fc.oneof(fc.constantFrom('-1', '1e400', 'NaN', 'Infinity', '0x10', '1.5', '', 'lots', '99999999999999999999', '-0', ' 7 ; rm'), sqlish);
const badJson = fc.constantFrom('{', '{"a":', 'undefined', "{'a':1}", '[1,]', 'x'.repeat(300_000), `{"a":"${'x'.repeat(2_000_000)}"}`, '{"__proto__":{"polluted":1}}'.replace('1', '1,'));

/** One hostile invocation per command: at least one argument is bad in each. */
const invocation: fc.Arbitrary<string[]> = fc.oneof(
  fc.tuple(badId, badNumber).map(([t, b]) => ['run', t, '--template', 'tdd-workflow', '--budget', b]),
  badId.map((t) => ['run', 'a task', '--template', t, '--budget', '1000']),
  fc.tuple(badNumber, badId).map(([b, r]) => ['spawn', '--role', r, '--task', 't', '--budget', b]),
  badId.map((p) => ['spawn', '--role', 'r', '--task', 't', '--budget', '100', '--parent', p]),
  badId.map((a) => ['fire', a]),
  fc.tuple(badId, badId).map(([a, b]) => ['fire', a, '--by', b]),
  fc.tuple(badId, badId).map(([a, b]) => ['send', a, b, '{"hi":1}']),
  badJson.map((j) => ['send', 'AGENT', 'AGENT', j]),
  badNumber.map((p) => ['send', 'AGENT', 'AGENT', '{"hi":1}', '--priority', p]),
  badId.map((a) => ['inbox', a]),
  badNumber.map((n) => ['inbox', 'AGENT', '--limit', n]),
  badId.map((a) => ['tree', a]),
  badNumber.map((n) => ['tree', '--limit', n]),
  badId.map((a) => ['status', a]),
  badId.map((a) => ['budget', a, '--subtree']),
  badId.map((a) => ['history', a]),
  badNumber.map((n) => ['history', 'AGENT', '--limit', n]),
  fc.tuple(badId, badNumber).map(([a, n]) => ['replay', a, '--to', n]),
  badNumber.map((n) => ['replay', 'AGENT', '--to', n]),
  badId.map((a) => ['report', a]),
  badId.map((t) => ['templates', 'show', t]),
  badId.map((a) => ['workspaces', 'diff', a]),
  badId.map((n) => ['projections', 'rebuild', n]),
  badNumber.map((p) => ['serve', '--port', p]),
  fc.constantFrom<string[]>(['serve', '--host', '0.0.0.0'], ['serve', '--host', '::'], ['serve', '--port', '70000']),
);

describe('hostile CLI arguments', () => {
  let system: AgentSystem;
  let agentId: string;
  const tried = new Map<string, number>();
  beforeAll(async () => {
    system = await testSystem('pglite', { model: { provider: 'offline', latencyMs: 0 } });
    agentId = (await system.spawn({ role: 'lead', task: 'be looked at', budget: 1000 })).id;
  });
  afterAll(async () => {
    console.log(`[hostile] CLI invocations refused: ${[...tried].map(([c, n]) => `${c} ${n}`).join(', ')}`);
    await system.close();
  });

  const context = (): { ctx: CliContext; out: string[] } => {
    const out: string[] = [];
    // The command closes what it opens: hand it the shared system with close() made harmless.
    const shared = new Proxy(system, { get: (t, k) => (k === 'close' ? async () => {} : Reflect.get(t, k)) });
    return { ctx: { openSystem: async () => shared, output: { out: (t) => void out.push(t), err: (t) => void out.push(t), isTTY: false, columns: 100 }, style: createStyle(false) }, out };
  };

  it('refuses each with one readable line and writes nothing', { timeout: 240_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(invocation, async (raw) => {
        const args = raw.map((a) => (a === 'AGENT' ? agentId : a));
        tried.set(args[0]!, (tried.get(args[0]!) ?? 0) + 1);
        const before = await system.store.headPosition();
        const { ctx, out } = context();
        const err = await buildProgram(ctx).parseAsync(['node', 'cadre', ...args]).then(() => null, (e: unknown) => e);
        expect(err, `accepted: cadre ${args.map((a) => JSON.stringify(a.slice(0, 60))).join(' ')} → ${out.join('').slice(0, 200)}`).not.toBeNull();
        expect(err instanceof CliError || isCadreError(err), `not a cadre/CLI error: ${String(err)}`).toBe(true);
        expect([1, 2, 3]).toContain(exitCodeOf(err));
        const text = formatError(err);
        expect(text.split('\n')[0]).toMatch(/^cadre: \S/);
        expect(text).not.toMatch(/\n\s+at /); // no stack trace
        expect(text.length).toBeLessThan(4000);
        expect(await system.store.headPosition()).toBe(before);
      }),
      { numRuns: RUNS * 3 },
    );
    // Still serving: a read and a write work after all of it.
    const { ctx, out } = context();
    await buildProgram(ctx).parseAsync(['node', 'cadre', 'status', agentId, '--json']);
    expect(JSON.parse(out.join(''))).toMatchObject({ id: agentId });
    const a = await system.spawn({ role: 'after', task: 'still fine', budget: 20_000 });
    expect((await a.run()).status).toBe('completed');
  });
});
