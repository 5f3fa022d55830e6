import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ModelReply, ModelRequest } from '../../src/actors/ports/modelProvider.js';
import { tool } from '../../src/actors/userTool.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import { freshSchema } from '../support/testDb.js';
import { startFakeMessagesApi } from '../support/fakeMessagesApi.js';
import { createTempRepo } from '../support/gitRepo.js';
import { testSystem, type StoreKind } from '../support/system.js';
import type { AgentSystem } from '../../src/system.js';

/**
 * Waits until the read models hold the agent's newest event: the head subscribers see can lag
 * behind it while another database's transaction on the same server is open (xids are
 * cluster-wide), so waiting for that head alone passed too early under a loaded test run.
 */
async function readModelsHold(system: AgentSystem, agentId: string): Promise<void> {
  await system.reports.waitFor(BigInt((await system.history(agentId)).at(-1)!.position));
}

/**
 * Human in the loop: a call to a tool that needs approval parks the agent (waiting, holding no
 * slot) until a person approves it (the tool runs) or denies it (the model reads why), across a
 * restart too, or until its approval times out.
 */
const usage = { inputTokens: 10, outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 };
const call = (id: string, name: string, input: unknown): ModelReply => ({ model: 'scripted', content: [{ type: 'tool_use', id, name, input }], stopReason: 'tool_use', usage });
const lastResult = (r: ModelRequest): { content: string; isError?: boolean } | undefined =>
  (r.messages.at(-1)?.content ?? []).flatMap((b) => (b.type === 'tool_result' ? [{ content: b.content, isError: b.isError }] : []))[0];

/** Pays once, then finishes with what the payment call said. */
const payingModel = () =>
  createScriptedProvider((r) => {
    const res = lastResult(r);
    return res ? call('toolu_fin', 'finish', { output: `${res.isError ? 'not paid' : 'paid'}: ${res.content}` }) : call('toolu_pay', 'pay', { cents: 5000 });
  });

function payTool(ran: number[], options: { approvalTimeoutMs?: number } = {}) {
  return tool({
    name: 'pay',
    description: 'Pays an invoice.',
    input: z.object({ cents: z.number().int().positive() }),
    needsApproval: (input) => input.cents > 1000,
    ...options,
    run: ({ cents }) => {
      ran.push(cents);
      return `paid ${cents}`;
    },
  });
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each<StoreKind>(['pglite', 'postgres'])('approvals (%s)', (kind) => {
  it('parks the call without a slot until approved, then runs it once', { timeout: 60_000 }, async () => {
    const ran: number[] = [];
    const system = await testSystem(kind, { model: payingModel(), tools: [payTool(ran)], maxConcurrentAgents: 1 });
    try {
      const agent = await system.spawn({ role: 'payer', task: 'Pay the invoice.', budget: 50_000 });
      const running = agent.run();
      const parked = await until(() => agent.state(), (s) => s.waitingFor === 'approval');
      expect(parked).toMatchObject({ status: 'waiting', waitingFor: 'approval', pendingApprovals: [{ callId: 'toolu_pay', tool: 'pay', input: { cents: 5000 }, expiresAt: null }] });
      expect(system.internal.runtime.concurrency.running).toBe(0); // its slot went back while it waits
      // The read models say so too: listed, and the agent's row waits.
      await readModelsHold(system, agent.id);
      expect(await system.reports.approvals()).toMatchObject([{ agentId: agent.id, role: 'payer', rootId: agent.id, callId: 'toolu_pay', tool: 'pay', input: { cents: 5000 }, expiresAt: null }]);
      expect((await system.reports.agent(agent.id))?.status).toBe('waiting');
      // Another agent runs meanwhile, in the only slot.
      const other = await system.spawn({ role: 'other', task: 'Something else.', budget: 50_000, tools: [] });
      expect((await other.run()).status).toBe('completed');
      expect(ran).toEqual([]);

      await agent.approve('toolu_pay', { by: 'ops@example.com' });
      await expect(agent.approve('toolu_pay')).rejects.toThrow(/toolu_pay was approved already|approval/);
      const result = await running;
      expect(result).toMatchObject({ status: 'completed', output: 'paid: paid 5000' });
      expect(ran).toEqual([5000]);
      await readModelsHold(system, agent.id);
      expect(await system.reports.approvals()).toEqual([]);
      const types = (await agent.history()).map((e) => e.type);
      expect(types.indexOf('ApprovalRequested')).toBeLessThan(types.indexOf('ApprovalGranted'));
      expect(types.indexOf('ApprovalGranted')).toBeLessThan(types.indexOf('ToolReturned'));
      expect((await agent.history()).find((e) => e.type === 'ApprovalGranted')?.data).toEqual({ callId: 'toolu_pay', by: 'ops@example.com' });
      await expect(agent.approve('toolu_nope')).rejects.toThrow(/toolu_nope/);
    } finally {
      await system.close();
    }
  });

  it('a denial is the call result the model reads; the tool never runs', { timeout: 60_000 }, async () => {
    const ran: number[] = [];
    const system = await testSystem(kind, { model: payingModel(), tools: [payTool(ran)] });
    try {
      const agent = await system.spawn({ role: 'payer', task: 'Pay the invoice.', budget: 50_000 });
      const running = agent.run();
      await until(() => agent.state(), (s) => s.waitingFor === 'approval');
      await agent.deny('toolu_pay', 'too large this month', { by: 'cfo' });
      expect(await running).toMatchObject({ status: 'completed', output: 'not paid: denied by cfo: too large this month' });
      expect(ran).toEqual([]);
      expect((await agent.state()).pendingApprovals).toEqual([]);
    } finally {
      await system.close();
    }
  });

  it('a request nobody answers in time is denied on its own', { timeout: 60_000 }, async () => {
    const ran: number[] = [];
    const system = await testSystem(kind, { model: payingModel(), tools: [payTool(ran, { approvalTimeoutMs: 300 })] });
    try {
      const agent = await system.spawn({ role: 'payer', task: 'Pay the invoice.', budget: 50_000 });
      expect(await agent.run()).toMatchObject({ status: 'completed', output: 'not paid: denied: approval timed out' });
      expect(ran).toEqual([]);
    } finally {
      await system.close();
    }
  });

  it('a small payment (needsApproval false for its input) runs at once', { timeout: 60_000 }, async () => {
    const ran: number[] = [];
    const model = createScriptedProvider((r) => (lastResult(r) ? call('toolu_fin', 'finish', { output: 'ok' }) : call('toolu_pay', 'pay', { cents: 500 })));
    const system = await testSystem(kind, { model, tools: [payTool(ran)] });
    try {
      const agent = await system.spawn({ role: 'payer', task: 'Pay.', budget: 50_000 });
      expect((await agent.run()).status).toBe('completed');
      expect(ran).toEqual([500]);
      expect((await agent.history()).some((e) => e.type === 'ApprovalRequested')).toBe(false);
    } finally {
      await system.close();
    }
  });

  it('a needsApproval that throws: the call does not run and the model reads why; an ended agent has nothing left to answer', { timeout: 60_000 }, async () => {
    const ran: number[] = [];
    const brokenPolicy = tool({
      name: 'pay', description: 'Pays.', input: z.object({ cents: z.number().int() }),
      needsApproval: () => { throw new Error('policy service down'); },
      run: ({ cents }) => { ran.push(cents); return 'paid'; },
    });
    const system = await testSystem(kind, { model: payingModel(), tools: [brokenPolicy] });
    try {
      const agent = await system.spawn({ role: 'payer', task: 'Pay.', budget: 50_000 });
      expect(await agent.run()).toMatchObject({ status: 'completed', output: 'not paid: needsApproval of pay failed, so the call did not run: policy service down' });
      expect(ran).toEqual([]);

    } finally {
      await system.close();
    }
    // Parked, then the agent is fired: no approval is pending any more, and an answer is refused naming the call.
    const other = await testSystem(kind, { model: payingModel(), tools: [payTool(ran)] });
    try {
      const waiting = await other.spawn({ role: 'payer', task: 'Pay more.', budget: 50_000 });
      void waiting.run().catch(() => {});
      await until(() => waiting.state(), (st) => st.pendingApprovals.length === 1);
      await other.terminate(waiting.id, 'changed my mind');
      expect((await waiting.state()).pendingApprovals).toEqual([]);
      await expect(waiting.approve('toolu_pay')).rejects.toThrow(/toolu_pay can no longer be answered: the agent has ended \(terminated\)/);
      expect(ran).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('a model that reuses an earlier call id gets an error result: nothing runs, nothing is parked under the old id', { timeout: 60_000 }, async () => {
    const ran: number[] = [];
    // Turn 1 pays 5 cents as toolu_A (no approval needed); turn 2 asks 5,000,000 under the same id.
    const model = createScriptedProvider((r) => {
      const turn = (r.messages.length - 1) / 2;
      if (turn === 0) return call('toolu_A', 'pay', { cents: 5 });
      if (turn === 1) return call('toolu_A', 'pay', { cents: 5_000_000 });
      return call('toolu_fin', 'finish', { output: `said: ${lastResult(r)?.content}` });
    });
    const system = await testSystem(kind, { model, tools: [payTool(ran)] });
    try {
      const agent = await system.spawn({ role: 'payer', task: 'Pay.', budget: 50_000 });
      const result = await agent.run();
      expect(result).toMatchObject({ status: 'completed', output: expect.stringContaining('the tool_use id toolu_A was used earlier') });
      expect(ran).toEqual([5]);
      expect((await agent.history()).some((e) => e.type === 'ApprovalRequested')).toBe(false);
    } finally {
      await system.close();
    }
  });
});

describe('an approval across a restart (postgres)', () => {
  it('waits in the store while no process runs; another process approves it and the agent finishes', { timeout: 60_000 }, async () => {
    const schema = freshSchema('ap');
    const ran: number[] = [];
    const first = await testSystem('postgres', { schema, model: payingModel(), tools: [payTool(ran)] });
    const agent = await first.spawn({ role: 'payer', task: 'Pay the invoice.', budget: 50_000 });
    void agent.run().catch(() => {});
    await until(() => agent.state(), (s) => s.waitingFor === 'approval');
    await first.close();

    const second = await testSystem('postgres', { schema, model: payingModel(), tools: [payTool(ran)] });
    try {
      const again = second.get(agent.id);
      expect(await again.state()).toMatchObject({ status: 'waiting', waitingFor: 'approval', pendingApprovals: [{ callId: 'toolu_pay' }] });
      const running = again.run();
      await again.approve('toolu_pay', { by: 'night shift' });
      expect(await running).toMatchObject({ status: 'completed', output: 'paid: paid 5000' });
      expect(ran).toEqual([5000]);
    } finally {
      await second.close();
    }
  });
});

describe('an approval across a restart through the real SDK (local Messages API, postgres)', () => {
  it('parks the model’s tool_use, survives the restart, and the approved result goes back to the API', { timeout: 60_000 }, async () => {
    const api = await startFakeMessagesApi();
    const schema = freshSchema('ap');
    const ran: number[] = [];
    const model = { provider: 'anthropic' as const, apiKey: 'sk-test', baseURL: api.url, maxRetries: 0 };
    api.enqueue({ kind: 'message', message: { content: [{ type: 'tool_use', id: 'toolu_sdk_pay', name: 'pay', input: { cents: 2500 } }] } });
    try {
      const first = await testSystem('postgres', { schema, model, tools: [payTool(ran)] });
      const agent = await first.spawn({ role: 'payer', task: 'Pay the invoice.', budget: 50_000 });
      void agent.run().catch(() => {});
      await until(() => agent.state(), (s) => s.waitingFor === 'approval');
      await first.close();

      api.enqueue({ kind: 'message', message: { content: [{ type: 'tool_use', id: 'toolu_sdk_fin', name: 'finish', input: { output: 'invoice paid' } }] } });
      const second = await testSystem('postgres', { schema, model, tools: [payTool(ran)] });
      try {
        const again = second.get(agent.id);
        const running = again.run();
        await again.approve('toolu_sdk_pay', { by: 'on call' });
        expect(await running).toMatchObject({ status: 'completed', output: 'invoice paid' });
        expect(ran).toEqual([2500]);
        const sent = api.messageRequests().map((r) => JSON.stringify((r.body as { messages: unknown[] }).messages.at(-1)));
        expect(sent).toHaveLength(2);
        expect(sent[1]).toMatch(/tool_result.*toolu_sdk_pay.*paid 2500/);
      } finally {
        await second.close();
      }
    } finally {
      await api.close();
    }
  });
});

describe('run_command programs that need approval', () => {
  it('parks a marked program until approved; an unmarked allowed one runs at once; a marked one must be allowed', { timeout: 60_000 }, async () => {
    const repo = createTempRepo({ prefix: 'cadre-approve-cmd-' });
    const model = createScriptedProvider((r) => {
      const res = lastResult(r);
      if (!res) return { model: 'scripted', stopReason: 'tool_use', usage, content: [
        { type: 'tool_use', id: 'toolu_ls', name: 'run_command', input: { command: 'ls', args: [] } },
        { type: 'tool_use', id: 'toolu_git', name: 'run_command', input: { command: 'git', args: ['status', '--short'] } },
      ] };
      return call('toolu_fin', 'finish', { output: 'done' });
    });
    await expect(testSystem('pglite', { allowCommands: true, allowedCommands: ['ls'], commandsNeedingApproval: ['git'] })).rejects.toThrow(/commandsNeedingApproval\[0\].*git is not an allowed command/);
    await expect(testSystem('pglite', { allowCommands: false, commandsNeedingApproval: ['ls'] })).rejects.toThrow(/commandsNeedingApproval.*has no effect while running commands is off/);
    const system = await testSystem('pglite', { model, allowCommands: true, allowedCommands: ['ls', 'git'], commandsNeedingApproval: ['git'], workspace: { repo: repo.path, basePath: repo.basePath, cleanup: 'never' } });
    try {
      const agent = await system.spawn({ role: 'operator', task: 'Look around.', budget: 100_000, workspace: true });
      const running = agent.run();
      const parked = await until(() => agent.state(), (s) => s.waitingFor === 'approval');
      expect(parked.pendingApprovals).toMatchObject([{ callId: 'toolu_git', tool: 'run_command', input: { command: 'git' } }]);
      const returned = (await agent.history()).filter((e) => e.type === 'ToolReturned').map((e) => (e.data as { toolUseId: string }).toolUseId);
      expect(returned).toEqual(['toolu_ls']); // the unmarked program ran at once
      await agent.approve('toolu_git');
      expect((await running).status).toBe('completed');
      const git = (await agent.history()).find((e) => e.type === 'ToolReturned' && (e.data as { toolUseId: string }).toolUseId === 'toolu_git')!.data as { output: string; isError: boolean };
      expect(git.output).toMatch(/^exit 0/);

      // An agent without a worktree has no run_command: its uninvited call is not put to a person.
      const bare = await system.spawn({ role: 'operator', task: 'No worktree.', budget: 100_000 });
      expect((await bare.run()).status).toBe('completed');
      const history = await bare.history();
      expect(history.some((e) => e.type === 'ApprovalRequested')).toBe(false);
      const refused = history.find((e) => e.type === 'ToolReturned' && (e.data as { toolUseId: string }).toolUseId === 'toolu_git')!.data;
      expect(refused).toMatchObject({ isError: true, output: expect.stringContaining('this agent has no workspace') });
    } finally {
      await system.close();
      repo.cleanup();
    }
  });
});
