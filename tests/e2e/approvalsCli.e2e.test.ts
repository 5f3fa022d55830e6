import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ModelReply, ModelRequest } from '../../src/actors/ports/modelProvider.js';
import { tool } from '../../src/actors/userTool.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import { createAgentSystem, type AgentSystem } from '../../src/system.js';
import { runCadre, type CliRun } from '../support/cadreCli.js';

/**
 * A person answers parked tool calls from the command line: a program's agent parks a payment
 * and its process exits; `cadre approvals` lists the call, `cadre approve` / `cadre deny` (the
 * real bin, another process, on the same embedded store) record the answer; the program opens
 * the store again and the agent goes on from the answer.
 */
const dir = mkdtempSync(join(tmpdir(), 'cadre-approvals-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cadre(...args: string[]): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, CADRE_DATA_DIR: dir, NO_COLOR: '1', LOG_LEVEL: 'error' };
  delete env.DATABASE_URL;
  delete env.EVENT_STORE;
  delete env.ANTHROPIC_API_KEY;
  return runCadre(args, env);
}

const usage = { inputTokens: 10, outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 };
const call = (id: string, name: string, input: unknown): ModelReply => ({ model: 'scripted', content: [{ type: 'tool_use', id, name, input }], stopReason: 'tool_use', usage });
const lastResult = (r: ModelRequest) => (r.messages.at(-1)?.content ?? []).flatMap((b) => (b.type === 'tool_result' ? [b] : []))[0];

const ran: number[] = [];
const pay = tool({ name: 'pay', description: 'Pays.', input: z.object({ cents: z.number().int() }), needsApproval: true, run: ({ cents }) => (ran.push(cents), `paid ${cents}`) });
const model = () => createScriptedProvider((r) => {
  const res = lastResult(r);
  // payer-twice: a second payment once the first is answered.
  if (r.agent?.role === 'payer-twice' && res && r.messages.length < 4) return call('toolu_pay_again', 'pay', { cents: 100 });
  return res ? call('toolu_fin', 'finish', { output: `${res.isError ? 'not paid' : 'paid'}: ${res.content}` }) : call(`toolu_pay_${r.agent?.role}`, 'pay', { cents: 700 });
});
const open = (): Promise<AgentSystem> => createAgentSystem({ env: { CADRE_DATA_DIR: dir }, model: model(), tools: [pay] });

async function parked(system: AgentSystem, role: string): Promise<string> {
  const agent = await system.spawn({ role, task: 'Pay the invoice.', budget: 50_000 });
  return parkedAgain(system, agent.id, `toolu_pay_${role}`);
}

/** Runs `id` until `callId` waits for approval. */
async function parkedAgain(system: AgentSystem, id: string, callId: string): Promise<string> {
  const agent = system.get(id);
  void agent.run().catch(() => {});
  for (let i = 0; i < 500 && !(await agent.state()).pendingApprovals.some((a) => a.callId === callId); i++) await new Promise((r) => setTimeout(r, 20));
  return id;
}

describe('approvals from the command line (the real bin, embedded store)', () => {
  it('lists parked calls, approves one and denies another; the agents go on from the answers', { timeout: 180_000 }, async () => {
    const first = await open();
    const yes = await parked(first, 'payer-yes');
    const no = await parked(first, 'payer-no');
    await first.close();

    const list = await cadre('approvals', '--json');
    expect(list.code, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout) as Array<{ agentId: string; callId: string; tool: string; role: string; input: unknown }>;
    expect(rows.map((r) => [r.agentId, r.callId, r.tool, r.role]).sort()).toEqual([[yes, 'toolu_pay_payer-yes', 'pay', 'payer-yes'], [no, 'toolu_pay_payer-no', 'pay', 'payer-no']].sort());
    expect(rows[0]!.input).toEqual({ cents: 700 });
    const table = await cadre('approvals');
    expect(table.stdout).toMatch(/AGENT\s+ROLE\s+CALL\s+TOOL\s+INPUT/);
    // status says what the agent waits for, the call, and the command that answers it.
    const status = await cadre('status', yes);
    expect(status.stdout).toMatch(/status\s+waiting \(for approval\)/);
    expect(status.stdout).toContain(`toolu_pay_payer-yes pay {"cents":700}  (cadre approve ${yes.slice(0, 8)} toolu_pay_payer-yes)`);

    const approved = await cadre('approve', yes.slice(0, 8), 'toolu_pay_payer-yes', '--by', 'alice');
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toContain('toolu_pay_payer-yes approved');
    const denied = await cadre('deny', no, 'toolu_pay_payer-no', '--reason', 'over budget', '--by', 'bob');
    expect(denied.code, denied.stderr).toBe(0);
    const again = await cadre('approve', yes, 'toolu_pay_payer-yes');
    // The loser of a race (or a second try): who answered, exit 1, not "fix the value" (exit 2).
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/approved already; it was approved by alice at \d{4}-/);
    expect(again.stderr).not.toContain('--help');
    const unknown = await cadre('deny', yes, 'toolu_nope');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('toolu_nope');
    expect(unknown.stderr).toContain('cadre approvals');
    expect(JSON.parse((await cadre('approvals', '--json')).stdout)).toEqual([]);

    const second = await open();
    try {
      expect(await second.run(yes)).toMatchObject({ status: 'completed', output: 'paid: paid 700' });
      expect(await second.run(no)).toMatchObject({ status: 'completed', output: 'not paid: denied by bob: over budget' });
      expect(ran).toEqual([700]);
    } finally {
      await second.close();
    }
    // Answered and its agent ended since: who answered, exit 1.
    const late = await cadre('deny', yes, 'toolu_pay_payer-yes');
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/can no longer be answered: the agent has ended \(completed\); it was approved by alice at \d{4}-/);
  });

  it('a call answered whose agent has moved on (to another call): says who answered, exit 1', { timeout: 180_000 }, async () => {
    const first = await open();
    const id = await parked(first, 'payer-twice');
    await first.close();
    expect((await cadre('approve', id, 'toolu_pay_payer-twice', '--by', 'carol')).code).toBe(0);
    const second = await open();
    await parkedAgain(second, id, 'toolu_pay_again');
    await second.close();
    // Not waiting any more and its agent live: it said `not found`, exit 3.
    const again = await cadre('approve', id, 'toolu_pay_payer-twice');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/toolu_pay_payer-twice was answered already: approved by carol at \d{4}-/);
  });
});
