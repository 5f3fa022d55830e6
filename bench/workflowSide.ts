import type { Phase, Rates } from './workflowPhase.js';
import type { Contents } from './workflowStats.js';

/** One framework under test, running the same four-node workflow on its own database. */
export interface WorkflowSide {
  readonly name: string;
  /** Its database, for the statistics (pg_stat_database counts per database). */
  readonly dbName: string;
  /** Its events table (`schema.table`) when it has one: the breakdown counts events by type. */
  readonly eventsTable: string | null;
  /** One run: start the workflow and resolve when its result is durable; throws if it did not complete. */
  run(): Promise<void>;
  /**
   * Waits for work the run started but did not wait for (cadre's projections), so that its
   * writes are counted. Resolves to the number of queries it sent to the database itself, which
   * the benchmark subtracts from the commits.
   */
  settle(): Promise<number>;
  /** Model calls so far. */
  readonly calls: number;
  close(): Promise<void>;
}

export interface SideResult {
  readonly name: string;
  readonly sequential: Phase[];
  readonly concurrent: Phase[];
  readonly idle: Rates;
  /** Every measured phase added up, and its agent steps: the breakdown's figures. */
  readonly total: Contents;
  readonly totalSteps: number;
  /** Transactions by first statement, counted by the client over the same phases (queryCensus.ts). */
  readonly transactions: ReadonlyMap<string, number>;
}

export interface WorkflowBenchResult {
  readonly cadre: SideResult;
  readonly langGraph: SideResult;
  readonly concurrency: number;
  /** Raw single-row INSERT commits per second on one connection, before and after the rounds. */
  readonly rawCommitsPerSec: readonly number[];
}
