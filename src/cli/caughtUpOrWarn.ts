import type { CliContext } from './context.js';
import type { Reports } from '../projections/reports.js';

/**
 * Waits up to 15 s for the read models to hold every committed event (a fresh process's runner
 * may still be catching up), then reads them anyway, saying so when they are behind: a
 * transaction left open anywhere on the database server holds every reader back, and a report
 * printed a run short with exit 0 and nothing said (a trial's).
 */
export async function caughtUpOrWarn(ctx: CliContext, reports: Pick<Reports, 'caughtUp'>): Promise<void> {
  const behind = await reports.caughtUp(15_000).then(() => false, () => true);
  if (behind) ctx.output.err('cadre warn: the read models are behind the store (a transaction left open on the database server holds them back), so this may miss the latest events; `cadre projections status` shows the lag');
}
