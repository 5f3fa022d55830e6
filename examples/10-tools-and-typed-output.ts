/**
 * Tools of your own, instructions and a typed result: the model is shown the tool's JSON Schema
 * (from zod), its input is validated before `run`, the call and its result are recorded, and
 * `run()` resolves to the structured answer, parsed and typed by the `output` schema. With the
 * offline model the tool is called once with the simplest input its schema accepts.
 */
import type { AgentSystem } from 'cadre';
import { tool } from 'cadre';
import { z } from 'zod';
import { runIfMain, useSystem } from './withSystem.js';

const lookupRelease = tool({
  name: 'lookup_release',
  description: 'The latest release of a package.',
  input: z.object({ pkg: z.string().min(1) }),
  // ctx.idempotencyKey is the same if a crash makes this call run again: pass it to anything
  // that changes the world outside.
  run: async ({ pkg }, ctx) => ({ pkg, version: '2.4.1', checkedBy: ctx.agentId }),
});

const Report = z.object({ summary: z.string(), upToDate: z.boolean() });

export async function main(given?: AgentSystem) {
  return useSystem(given, async (system) => {
    const agent = await system.spawn({
      role: 'auditor',
      task: 'Is our dependency on the latest release?',
      budget: 20_000,
      tools: [lookupRelease],
      instructions: 'Check with lookup_release before you answer.',
      output: Report,
    });
    const result = await agent.run(); // result.output: { summary: string; upToDate: boolean } | null
    const calls = (await agent.history()).filter((e) => e.type === 'ToolCalled' || e.type === 'ToolReturned');
    return { status: result.status, report: result.output, toolEvents: calls.map((e) => e.type) };
  });
}

runIfMain(import.meta, main);
