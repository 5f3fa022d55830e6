import { StoreNotFound } from '../errors.js';
import { NO_STORE_HINT } from './cliError.js';
import { print, type CliContext } from './context.js';

/**
 * A read with no store yet has nothing to show: it prints the empty result (`[]` with --json) and
 * says why, exit 0, as `tree` does. Any other error goes on. A read that names something (an
 * agent id) still fails: that thing is not found.
 *
 * @example
 * await withSystem(ctx, READ_ONLY, list).catch(noStoreYet(ctx, opts.json, [], 'no worktrees'));
 */
export function noStoreYet(ctx: CliContext, json: boolean | undefined, empty: unknown, nothing: string): (err: unknown) => void {
  return (err) => {
    if (!(err instanceof StoreNotFound)) throw err;
    print(ctx, json, empty, () => `${nothing}: ${err.message}\n${ctx.style.dim(`  ${NO_STORE_HINT}`)}`);
  };
}
