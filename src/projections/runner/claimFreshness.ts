import { isDeadLocalOwner } from '../../infra/ids.js';

/**
 * How long a rebuild's claim holds without being renewed before its runner counts as dead: then
 * another runner may drop the tables it was building, or take the rebuild over (rebuildClaim.ts).
 * Generous beside the renewals (every batch, and every CLAIM_RENEW_MS), so that a runner stalled
 * by a long batch or a busy event loop is not taken for dead.
 */
export const CLAIM_STALE_MS = 30_000;

/** A checkpoint row's claim is alive: its `building_seen_at` within CLAIM_STALE_MS by the server's clock. */
export const freshClaimSql = `coalesce(building_seen_at > now() - make_interval(secs => ${CLAIM_STALE_MS / 1000}), false)`;

/**
 * A claim found in the checkpoint row belongs to a live runner: fresh, on a server, and not by a
 * process of this machine that has exited (a rebuild stopped with Ctrl-C and started again is
 * taken over at once). An embedded store is open in one process at a time, so a claim found
 * there is always a dead run's.
 */
export const claimIsLive = (kind: 'postgres' | 'pglite', claim: { building_owner?: string | null; fresh?: boolean }): boolean =>
  kind === 'postgres' && claim.fresh === true && !isDeadLocalOwner(claim.building_owner ?? '');
