import type { Logger } from '../../actors/ports/runtimePorts.js';
import { agentIdOfStream } from '../../actors/streams.js';
import type { EventStore } from '../../events/eventStore.js';
import type { HistoryEvent } from '../../events/historyEvent.js';
import { backoffMs } from '../../infra/backoff.js';
import { Signal } from '../../infra/signals.js';
import type { SqlClient } from '../../infra/sql/sqlClient.js';
import type { TraceSpan } from '../traceSpan.js';
import { openExportLease, type ExportLease } from './exportLease.js';
import type { OtlpSettings } from './otlpSettings.js';
import { SPAN_ENDING_TYPES, spansEndedBetween } from './spansEndedBetween.js';
import { openSpanSender } from './spanExporter.js';

export interface LiveExportOptions {
  readonly store: EventStore;
  /** Where the lease row lives (the read models' database). */
  readonly sql: SqlClient;
  readonly schema: string;
  readonly settings: OtlpSettings;
  /** This process's name in the lease. */
  readonly owner: string;
  readonly history: (agentId: string) => Promise<HistoryEvent[]>;
  readonly logger: Logger;
  /**
   * The newest position written, whether or not every reader may see it yet. On Postgres a read
   * of the store sees only what committed before the oldest transaction still running, so a
   * flush that stopped at the first empty read left a run's last spans behind (found by a new
   * user: 1 `cadre run` in 4). Default: the store's head.
   */
  readonly writtenHead?: () => Promise<bigint>;
}

/** Most events read per pass. */
const BATCH_SIZE = 1_000;

export interface LiveExport {
  /** Sends what has ended by now (at most `flushMs`), gives the lease up and closes the exporter. */
  stop(flushMs?: number): Promise<void>;
}

/**
 * Follows the store's events and sends each span over OTLP once, when it ends. Every process
 * that exports runs this, and the lease (exportLease.ts) lets one of them send: each span goes
 * out once per store however many processes share it. The position moves after the receiver
 * accepted a batch, so a crash between the two sends that batch again, with the same ids (a
 * receiver that keys spans by id keeps one); a failed send is retried with backoff, never
 * skipped. Spans still open at the end are not sent: they go when they end, by whichever
 * process holds the lease then.
 *
 * @example
 * const live = await startLiveExport({ store, sql, schema, settings, owner, history, logger });
 * await live.stop();
 */
export async function startLiveExport(o: LiveExportOptions): Promise<LiveExport> {
  // Three export timeouts at least: a send always ends well inside the lease it was renewed for.
  const leaseMs = Math.max(30_000, 3 * o.settings.timeoutMs);
  const log = o.logger.child({ component: 'otlp-export' });
  const lease = await openExportLease(o.sql, o.schema, o.owner, () => o.store.headPosition());
  const sender = await openSpanSender(o.settings);
  const wake = new Signal();
  let stopping = false;
  let failures = 0;

  const loop = (async () => {
    while (!stopping) {
      let pause = o.settings.intervalMs;
      try {
        await sendReady(lease, () => !stopping);
        failures = 0;
      } catch (err) {
        // A send that outlived close(): what it did not record is sent by the next exporting process.
        if (stopping) break;
        failures++;
        pause = backoffMs(failures - 1, { baseMs: o.settings.intervalMs, maxMs: 60_000 });
        log.warn({ err: (err as Error).message, failures, retryInMs: pause }, 'OTLP export failed; the same spans are sent again');
      }
      await wake.wait(pause);
    }
  })();

  /** While this process holds the lease: read past the position, send what ended, move it. The position reached, or null without the lease. */
  async function sendReady(l: ExportLease, more: () => boolean): Promise<bigint | null> {
    let from = await l.take(leaseMs);
    while (from !== null && more()) {
      const events = await o.store.readAll({ fromPosition: from, limit: BATCH_SIZE });
      if (events.length === 0) return from;
      const to = events[events.length - 1]!.position;
      const agents = new Set(events.filter((e) => SPAN_ENDING_TYPES.has(e.type)).map((e) => agentIdOfStream(e.streamId)).filter((id): id is string => id !== null));
      const spans: TraceSpan[] = [];
      for (const id of agents) spans.push(...spansEndedBetween(await o.history(id), Number(from), Number(to)));
      // Renewed before sending: the send may take up to the export timeout, well inside the lease.
      if ((await l.take(leaseMs)) === null) return null;
      if (spans.length > 0) await sender.send(spans);
      if (!(await l.advance(to))) {
        log.warn({ position: to.toString() }, 'the OTLP export lease passed to another process during a send; it goes on from the last position this one recorded');
        return null;
      }
      if (spans.length > 0) log.debug({ spans: spans.length, position: to.toString() }, 'spans exported');
      from = to;
    }
    return from;
  }

  return {
    async stop(flushMs = 5_000) {
      if (stopping) return;
      stopping = true;
      wake.fire();
      // All of it within flushMs: a receiver that hangs holds a send for its whole timeout.
      const deadline = Date.now() + flushMs;
      const inTime = <T>(p: Promise<T>): Promise<T | 'late'> => Promise.race([p, new Promise<'late'>((r) => setTimeout(() => r('late'), Math.max(0, deadline - Date.now())).unref())]);
      try {
        // A send still under way when time is up: the receiver is not answering, and a flush beside it would send its spans twice.
        if ((await inTime(loop)) !== 'late') await inTime(flush(await (o.writtenHead ?? (() => o.store.headPosition()))(), deadline));
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'the last OTLP export before closing failed; the next exporting process sends those spans');
      }
      await lease.release().catch(() => {});
      await Promise.race([sender.close().catch(() => {}), new Promise((r) => setTimeout(r, 1_000).unref())]);
    },
  };

  /** Sends until the position reaches `target` (what was written before closing), or time is up. */
  async function flush(target: bigint, deadline: number): Promise<void> {
    while (Date.now() < deadline) {
      const at = await sendReady(lease, () => Date.now() < deadline);
      if (at === null || at >= target) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
