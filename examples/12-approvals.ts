/**
 * Human in the loop: a tool whose calls need a person's yes. The agent's call is parked (the
 * agent waits, holding no concurrency slot); a person approves it (it runs) or denies it (the
 * model reads why). Here the program answers; `cadre approvals` / `cadre approve` or the
 * dashboard's buttons do the same from another process, across restarts.
 */
import type { AgentSystem } from 'cadre';
import { tool } from 'cadre';
import { z } from 'zod';
import { runIfMain, useSystem } from './withSystem.js';

const deploy = tool({
  name: 'deploy',
  description: 'Deploys a service to production.',
  input: z.object({ service: z.string() }),
  needsApproval: true,
  run: ({ service }) => `deployed ${service}`,
});

export async function main(given?: AgentSystem) {
  return useSystem(given, async (system) => {
    const releaser = await system.spawn({ role: 'releaser', task: 'Deploy the API.', budget: 20_000, tools: [deploy] });
    const finished = releaser.run();
    let state = await releaser.state();
    while (state.waitingFor !== 'approval') {
      await new Promise((r) => setTimeout(r, 20));
      state = await releaser.state();
    }
    const [waiting] = state.pendingApprovals; // { callId, tool: 'deploy', input, requestedAt, expiresAt }
    await releaser.approve(waiting!.callId, { by: 'release manager' });
    const result = await finished;
    const answers = (await releaser.history()).filter((e) => e.type.startsWith('Approval')).map((e) => e.type);
    return { status: result.status, waitedFor: state.waitingFor, tool: waiting!.tool, answers, output: result.output };
  });
}

runIfMain(import.meta, main);
