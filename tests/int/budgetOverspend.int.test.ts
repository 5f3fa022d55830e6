import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentSystem } from '../../src/system.js';
import type { BudgetStatus } from '../../src/actors/budget.js';
import { startFakeMessagesApi, type FakeMessagesApi } from '../support/fakeMessagesApi.js';
import { testSystem } from '../support/system.js';
import { PlanningFailed } from '../../src/errors.js';
import { formatError } from '../../src/cli/cliError.js';
import { checkLiveEqualsReplay, checkStreams } from '../support/actorsInvariants.js';
import { totalTokens } from '../../src/actors/ports/modelProvider.js';

/** allocated + overspent = consumed + reserved + delegated + spentBySubtree + available. */
const holds = (b: BudgetStatus): void =>
  expect(b.allocated + b.overspent).toBe(b.consumed + b.reserved + b.delegated + b.spentBySubtree + b.available);

/**
 * A provider that reports more usage than was reserved (issue 16, case 3): a child of 10,000
 * told it used 20,100. The whole usage is recorded, the excess has its own event, the child
 * fails `budget_exceeded`, the parent is charged the subtree's real spending, and every
 * balance (actors and projections) adds up.
 */
async function overspendThroughTheApi(system: AgentSystem): Promise<void> {
  const lead = await system.spawn({ role: 'lead', task: 'delegate', budget: 50_000 });
  const child = await lead.spawn({ role: 'worker', task: 'say hello', budget: 10_000 });
  const result = await child.run();
  expect(result.status).toBe('failed');
  expect(result.budgetConsumed).toBe(20_100);

  const history = await child.history();
  const requested = history.find((e) => e.type === 'ModelRequested');
  const overspent = history.find((e) => e.type === 'BudgetOverspent');
  expect(requested?.type === 'ModelRequested' && requested.data.reserved).toBeLessThanOrEqual(10_000);
  expect(overspent?.data).toMatchObject({ consumed: 20_100 });
  const reserved = requested?.type === 'ModelRequested' ? requested.data.reserved : NaN;
  expect(overspent?.type === 'BudgetOverspent' && overspent.data.excess).toBe(20_100 - reserved);
  // Usage never lost: the reply settles its call with all of it.
  const replied = history.find((e) => e.type === 'ModelReplied');
  expect(replied?.type === 'ModelReplied' && replied.data.settles && totalTokens(replied.data.usage)).toBe(20_100);
  expect((await child.state()).budget.consumed).toBe(20_100);
  expect(history.at(-1)?.type === 'AgentFailed' && history.at(-1)?.data).toMatchObject({ cause: 'budget_exceeded', returned: 0 });
  expect(history.some((e) => e.type === 'ToolCalled')).toBe(false);

  const c = await child.getBudgetStatus();
  expect(c).toMatchObject({ allocated: 10_000, consumed: 20_100, available: 0, overspent: 10_100 });
  holds(c);
  const l = await lead.getBudgetStatus();
  expect(l).toMatchObject({ allocated: 50_000, spentBySubtree: 20_100, available: 29_900, overspent: 0 });
  holds(l);
  expect((await system.internal.runtime.state(lead.id)).budget).toEqual(l);

  // The read models see the same numbers.
  const last = [...(await lead.history()), ...history].reduce((m, e) => (e.position > m ? e.position : m), 0);
  await system.reports.waitFor(last);
  const rep = await system.reports.budget(lead.id, { subtree: true });
  expect(rep).toMatchObject({ allocated: 50_000, spentBySubtree: 20_100, available: 29_900, overspent: 0 });
  expect(rep!.subtree?.consumed).toBe(20_100);
  expect(rep!.allocated + rep!.overspent).toBe(rep!.subtree!.consumed + rep!.available);
  const kid = await system.reports.agent(child.id);
  expect(kid).toMatchObject({ consumed: 20_100, available: 0, overspent: 10_100 });
  holds(kid!);
  const ledger = await system.reports.ledger(child.id);
  expect(ledger.find((r) => r.kind === 'overspent')).toMatchObject({ amount: 20_100 - reserved });
  // The project's own invariants: every event accepted by the machine, each answered once, replay = live.
  await checkStreams(system, [lead.id, child.id]);
  await checkLiveEqualsReplay(system, [lead.id, child.id]);
}

describe('a budget is a hard cap (postgres)', () => {
  let system: AgentSystem | undefined;
  afterEach(async () => {
    await system?.close();
    system = undefined;
  });

  it('the offline model told to report 20,100 tokens: recorded, charged up the chain, failed budget_exceeded', async () => {
    system = await testSystem('postgres', { model: { provider: 'offline', usage: { input: 20_000, output: 100 } } });
    await overspendThroughTheApi(system);
  });

  it('a decomposition call that reports more than it could use: recorded, the workflow failed budget_exceeded', async () => {
    system = await testSystem('postgres', { model: { provider: 'offline', usage: { input: 20_000, output: 100 } } });
    const err = await system.decompose('Design it, build it, test it', { budget: 10_000, id: 'wf-overspent' }).catch((e: unknown) => e);
    const history = await system.history('wf-overspent');
    // Not BudgetExceeded: that said the call "needs" the tokens it had spent, and its hint (a larger
    // budget) only lets a lying model spend more (a trial's).
    const reserved = history.find((e) => e.type === 'BudgetReserved')?.data.amount;
    expect(err).toBeInstanceOf(PlanningFailed);
    expect((err as Error).message).toBe(`workflow wf-overspent failed while planning (budget_exceeded): usage over the reservation: the model reported 20100 tokens for a call that reserved ${reserved}, the most a call can use (its input estimate plus max_tokens); usage past that is not trusted, so the workflow stops, charged in full`);
    expect(formatError(err)).toContain('hint: `cadre history wf-overspent` shows the planning call');
    expect(history.find((e) => e.type === 'BudgetSettled')?.data).toMatchObject({ consumed: 20_100 });
    expect(history.find((e) => e.type === 'BudgetOverspent')?.data).toMatchObject({ consumed: 20_100 });
    expect(history.at(-1)?.type === 'AgentFailed' && history.at(-1)?.data).toMatchObject({ cause: 'budget_exceeded' });
    const b = (await system.internal.runtime.state('wf-overspent')).budget;
    expect(b).toMatchObject({ consumed: 20_100, available: 0, overspent: 10_100 });
    holds(b);
    expect(history.some((e) => e.type === 'WorkflowPlanned')).toBe(false);
  });

  describe('the real SDK against a Messages API that reports more usage than was reserved', () => {
    let api: FakeMessagesApi;
    beforeAll(async () => {
      api = await startFakeMessagesApi();
    });
    afterAll(async () => {
      await api.close();
    });

    it('records the real usage, the excess, and the failure', async () => {
      api.setFallback(() => ({ kind: 'message', message: { content: [{ type: 'text', text: 'hello' }], stopReason: 'end_turn', usage: { input_tokens: 20_000, output_tokens: 100 } } }));
      system = await testSystem('postgres', { model: { provider: 'anthropic', apiKey: 'sk-test', baseURL: api.url, maxRetries: 0 } });
      await overspendThroughTheApi(system);
      const sent = api.messageRequests()[0]!.body as { max_tokens: number };
      expect(sent.max_tokens).toBeLessThan(10_000);
    });

    it('does not call at all when the input bound alone exceeds what is left (4,000 CJK characters, 10,000 tokens)', async () => {
      api.reset();
      system = await testSystem('postgres', { model: { provider: 'anthropic', apiKey: 'sk-test', baseURL: api.url, maxRetries: 0 } });
      // 12,000 UTF-8 bytes: likely 4,000–6,000 tokens, which characters ÷ 3 put at ~1,300 and so called.
      const agent = await system.spawn({ role: 'translator', task: '漢'.repeat(4_000), budget: 10_000 });
      const result = await agent.run();
      expect(result).toMatchObject({ status: 'failed', budgetConsumed: 0 });
      expect(api.messageRequests()).toHaveLength(0);
      const history = await agent.history();
      expect(history.some((e) => e.type === 'ModelRequested' || e.type === 'BudgetReserved')).toBe(false);
      expect(history.at(-1)?.type === 'AgentFailed' && history.at(-1)?.data).toMatchObject({ cause: 'budget_exhausted', returned: 10_000 });
    });
  });
});
