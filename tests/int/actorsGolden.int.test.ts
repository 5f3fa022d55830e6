import { describe, expect, it } from 'vitest';
import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AgentSystem } from '../../src/system.js';
import type { ModelReply, ModelRequest } from '../../src/actors/ports/modelProvider.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import { AGENT_MACHINE_VERSION } from '../../src/actors/agentMachine.js';
import { testSystem } from '../support/system.js';
import { treeOf } from '../support/actorsInvariants.js';
import { toJson, type GoldenFixture } from '../support/goldenHistory.js';

/**
 * Records the golden histories replayed by tests/unit/actorsGolden.unit.test.ts. Run only on
 * purpose: `CADRE_RECORD_GOLDEN=1 npx vitest run tests/int/actorsGolden` (a deliberate change of
 * behaviour records a new fixture; an event change of shape needs an upcaster instead).
 */
const record = process.env.CADRE_RECORD_GOLDEN === '1';
const dir = fileURLToPath(new URL('../fixtures/', import.meta.url));
const usage = (i: number, o: number) => ({ inputTokens: i, outputTokens: o, cacheReadTokens: 0, cacheCreationTokens: 0 });

function script(req: ModelRequest): ModelReply {
  const role = req.agent?.role ?? '';
  const turn = req.messages.length;
  if (role === 'spender') return { model: 'scripted', content: [{ type: 'text', text: `thinking ${turn}` }], stopReason: 'max_tokens', usage: usage(Math.floor(req.maxTokens / 2), req.maxTokens) };
  if (turn === 1) return { model: 'scripted', content: [{ type: 'text', text: `${role} on it` }, { type: 'tool_use', id: `toolu_${role}`, name: 'finish', input: { output: `${role} result` } }], stopReason: 'tool_use', usage: usage(120, 30) };
  return { model: 'scripted', content: [{ type: 'text', text: 'done' }], stopReason: 'end_turn', usage: usage(10, 2) };
}

async function save(system: AgentSystem, name: string, description: string, rootId: string): Promise<void> {
  const streams = [];
  for (const id of await treeOf(system, rootId)) {
    streams.push({ agentId: id, events: toJson(await system.store.readStream(`agent-${id}`)), expected: toJson(await system.replay(id)) });
  }
  const fixture = { name, description, recordedWith: { machineVersion: AGENT_MACHINE_VERSION }, streams } as unknown as GoldenFixture;
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}golden-${name}.json`, `${JSON.stringify(fixture, null, 2)}\n`);
}

// A recording tool, not a check: the replay check is tests/unit/actorsGolden.unit.test.ts.
if (!record) console.log('[golden] recorder not run: set CADRE_RECORD_GOLDEN=1 to re-record tests/fixtures/golden-*.json');
describe.runIf(record)('record golden histories', () => {
  it('records a solo run, a tree with a fire, and a budget-exhausted failure', async () => {
    const system = await testSystem('pglite', { model: createScriptedProvider(script), maxTokensPerCall: 400 });
    try {
      const solo = await system.spawn({ role: 'solo', task: 'answer one question', budget: 5_000 });
      expect((await solo.run()).status).toBe('completed');
      await save(system, 'solo', 'One agent, one model turn calling finish.', solo.id);

      const lead = await system.spawn({ role: 'lead', task: 'coordinate', budget: 40_000 });
      const a = await lead.spawn({ role: 'a', task: 'part a', budget: 10_000 });
      await a.spawn({ role: 'a1', task: 'detail', budget: 3_000 });
      const b = await lead.spawn({ role: 'b', task: 'part b', budget: 8_000 });
      await b.spawn({ role: 'b1', task: 'doomed', budget: 2_000 });
      await lead.fire(b.id, 'not needed');
      expect((await lead.run()).status).toBe('completed');
      await save(system, 'tree-with-fire', 'A lead with two children and grandchildren; b (and b1) fired before the run.', lead.id);

      const spender = await system.spawn({ role: 'spender', task: 'spend it all', budget: 2_500 });
      const r = await spender.run();
      expect(r.status).toBe('failed');
      await save(system, 'budget-exhausted', 'An agent whose turns hit max_tokens until its budget no longer fits a turn.', spender.id);
    } finally {
      await system.close();
    }
  });
});
