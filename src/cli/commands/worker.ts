import type { Command } from 'commander';
import { processOwnerName } from '../../infra/ids.js';
import type { AgentSystem } from '../../system.js';
import { parseCount, type CliContext } from '../context.js';

/** The longest delay Node's timers take: past it they fire after 1 ms, a busy loop. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Live agents in the index that this process does not host yet. */
async function unhosted(system: AgentSystem): Promise<string[]> {
  const hosted = new Set(system.internal.runtime.liveIds());
  const r = await system.internal.sql.query<{ agent_id: string }>(`SELECT agent_id FROM ${system.schema}.actor_index WHERE status = 'live' ORDER BY updated_at LIMIT 500`);
  return r.rows.map((x) => x.agent_id).filter((id) => !hosted.has(id));
}

export function registerWorker(program: Command, ctx: CliContext): void {
  program
    .command('worker')
    .description('host live agents: recover them, resume their work, pick up new ones until stopped')
    .option('--poll <ms>', 'how often to look for new work', '1000')
    .option('--once', 'recover, finish the work in flight, then exit')
    .addHelpText('after', '\nExamples:\n  cadre worker\n  DATABASE_URL=postgres://… cadre worker   # several workers can share one store')
    .action(async (opts: { poll: string; once?: boolean }) => {
      const pollMs = parseCount(opts.poll, '--poll', { min: 50, max: MAX_TIMER_MS });
      // A long-running worker hosts actors by lease, so several can share one store and take
      // over a dead one's actors; --once just recovers and drains this store by itself.
      const owner = processOwnerName();
      // Before the system opens: its recovery runs what was in flight at once.
      const since = new Date();
      const system = await ctx.openSystem(opts.once ? { recover: true } : { worker: { owner, tickMs: Math.max(pollMs, 200) } });
      if (!opts.once) ctx.output.err(`worker ${owner} started (Ctrl-C to stop)`);
      let stopped = false;
      const stopping = new Promise<void>((resolve) => {
        const stop = (): void => {
          stopped = true;
          resolve();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      let hosted = 0;
      try {
        if (!opts.once) await stopping;
        else {
          // It printed "hosting 0 recovered agent(s)" and then ran two (a new user's try): what
          // ended while it ran is said at the end instead, counted by how each ended.
          ctx.output.err('worker --once: finishing the work in flight');
          while (!stopped) {
            for (const id of await unhosted(system)) {
              await system.internal.runtime.actor(id).catch(() => null);
              await system.internal.runtime.reconcile(id).catch((err: unknown) => system.logger.error({ agentId: id, err }, 'worker: reconcile failed'));
            }
            if ((await unhostedOrRunning(system)) === 0) break;
            await Promise.race([new Promise((r) => setTimeout(r, pollMs)), stopping]);
          }
          if (!stopped) ctx.output.err(`worker --once: done; ${await endedSince(system, since)}`);
        }
        hosted = system.internal.runtime.hosted;
      } finally {
        await system.close();
      }
      // Said once close() has let calls in flight finish and freed the leases.
      if (stopped) ctx.output.err(stoppedLine(`worker ${owner}`, hosted));
    });
}

/** What a host stopped by Ctrl-C leaves, and where it goes on. */
export function stoppedLine(who: string, hosted: number): string {
  return hosted > 0
    ? `${who} stopped; ${hosted === 1 ? 'the agent it hosted resumes' : `the ${hosted} agents it hosted resume`} at the next start (cadre worker, cadre serve, or cadre start <id> --wait)`
    : `${who} stopped`;
}

async function unhostedOrRunning(system: AgentSystem): Promise<number> {
  const c = system.internal.runtime.concurrency;
  if (c.running + c.waiting > 0) return 1;
  const r = await system.internal.sql.query<{ n: number | bigint }>(`SELECT count(*)::int AS n FROM ${system.schema}.actor_index WHERE status = 'live'`);
  const live = Number(r.rows[0]?.n ?? 0);
  if (live === 0) return 0;
  // Live agents nobody asked to run stay live; only those with work in flight keep --once going.
  const states = await Promise.all(system.internal.runtime.liveIds().map((id) => system.internal.runtime.state(id).catch(() => null)));
  return states.filter((s) => s && (s.status === 'running' || s.status === 'waiting')).length;
}

/** What ended since `since`, by how: "2 agents ended on this store while it ran: 1 completed, 1 failed" (the read model, caught up first). */
async function endedSince(system: AgentSystem, since: Date): Promise<string> {
  await system.projections.waitFor(await system.store.headPosition(), 10_000).catch(() => {});
  const r = await system.internal.sql.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM ${system.schema}.agents WHERE ended_at >= $1 GROUP BY status ORDER BY status`, [since]);
  const total = r.rows.reduce((a, x) => a + x.n, 0);
  // Of the whole store: two workers started together each counted all of them, as if each had
  // done the work (a new user's try), so the line says whose they are.
  return `${total} agent${total === 1 ? '' : 's'} ended on this store while it ran${total > 0 ? `: ${r.rows.map((x) => `${x.n} ${x.status}`).join(', ')}` : ''}`;
}
