import type { RecordedEvent } from '../../src/events/envelope.js';
import type { AgentState } from '../../src/actors/replay.js';

/** A recorded stream and the state it must replay to, as stored in tests/fixtures/golden-*.json. */
export interface GoldenStream {
  readonly agentId: string;
  /** Recorded events exactly as the store returned them (bigints as strings). */
  readonly events: ReadonlyArray<Omit<RecordedEvent, 'revision' | 'position'> & { revision: string; position: string }>;
  /** `stateView` of the folded stream. */
  readonly expected: AgentState;
}

export interface GoldenFixture {
  readonly name: string;
  readonly description: string;
  readonly recordedWith: { readonly machineVersion: number };
  readonly streams: readonly GoldenStream[];
}

export const toJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)));

export const fromGolden = (e: GoldenStream['events'][number]): RecordedEvent => ({ ...e, revision: BigInt(e.revision), position: BigInt(e.position) });

/**
 * Fields `state()` gained after the fixtures were recorded, with what their agents (all at rest
 * at the end of their streams) show: the recorded fields must replay exactly, and nothing else
 * may appear.
 */
export const ADDED_SINCE_RECORDED = { waitingFor: null, pendingApprovals: [] };
