/**
 * Cancellation: aborting the signal given to `run()` terminates the agent and its whole subtree
 * (model calls in flight are aborted, unspent budget comes back); `start()` asks for a run and
 * returns, `result()` waits for the end, and a signal given to `result()` only stops that wait.
 *
 * Every model call here takes 30 s (the offline model with latency), so there is something to
 * cancel: the tests pass a system with the same slow model.
 */
import { Aborted, type AgentSystem, type AgentSystemOptions } from 'cadre';
import { runIfMain, useSystem } from './withSystem.js';

/** A model slow enough to cancel: every call takes 30 s unless it is aborted (the tests use it too). */
export const systemOptions: AgentSystemOptions = { model: { provider: 'offline', latencyMs: 30_000 } };

export async function main(given?: AgentSystem) {
  return useSystem(given, async (system) => {
    // run({ signal }): the user presses Stop 300 ms in; the lead and its writer both end.
    const lead = await system.spawn({ role: 'lead', task: 'Plan the release', budget: 50_000 });
    const writer = await lead.spawn({ role: 'writer', task: 'Draft the notes', budget: 20_000 });
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 300);
    const cancelled = await lead.run({ signal: stop.signal });

    // start() and result(): stop waiting after 200 ms, and the agent goes on with its work.
    const analyst = await system.spawn({ role: 'analyst', task: 'Summarise the changelog', budget: 10_000 });
    await analyst.start();
    const waited = await analyst.result({ signal: AbortSignal.timeout(200) }).then(
      (r) => r.status,
      (err: unknown) => (err instanceof Aborted ? 'stopped waiting' : Promise.reject(err)),
    );
    const analystAfterWait = (await analyst.state()).status; // 'waiting' (for its model)
    // Cancelling it after all: an already-aborted signal terminates at once.
    const analystEnd = await analyst.run({ signal: AbortSignal.abort() });

    return {
      status: cancelled.status, // 'terminated'
      reason: cancelled.reason, // 'cancelled'
      writer: (await writer.state()).status, // 'terminated'
      leadBudget: await lead.getBudgetStatus(), // nothing reserved or delegated any more
      waited,
      analystAfterWait,
      analystEnd: analystEnd.status,
    };
  }, systemOptions);
}

runIfMain(import.meta, main);
