import type { EventStore } from '../events/eventStore.js';
import type { ModelProvider, ModelUsage } from './ports/modelProvider.js';
import type { ActorIndex, BlobStore, Clock, IdGenerator, Logger, SnapshotStore } from './ports/runtimePorts.js';
import type { WorkspacePort } from './ports/workspacePort.js';
import type { MessagePort } from './ports/messagePort.js';
import type { CleanupPolicy } from './cleanupPolicy.js';
import type { ToolRegistry } from './toolRegistry.js';

export type { CleanupPolicy } from './cleanupPolicy.js';

/** Everything the runtime needs, built by the composition root (src/system.ts). */
export interface RuntimeDeps {
  readonly store: EventStore;
  readonly snapshots: SnapshotStore;
  readonly index: ActorIndex;
  readonly blobs: BlobStore;
  readonly model: ModelProvider;
  readonly workspaces: WorkspacePort | null;
  readonly messages: MessagePort | null;
  /** The user tools this process can run (tool()). */
  readonly tools: ToolRegistry;
  readonly clock: Clock;
  readonly ids: IdGenerator & { derive(namespace: string, name: string): string };
  readonly logger: Logger;
  readonly costOf: (model: string, usage: ModelUsage) => number;
  /** Removes secrets from text before it is recorded (tool results, failure reasons); default: none. */
  readonly redact?: (text: string) => string;
  readonly config: {
    readonly maxConcurrentAgents: number;
    readonly defaultTimeoutMs: number | null;
    readonly snapshotEvery: number;
    readonly maxTokensPerCall: number;
    readonly defaultMaxTurns: number;
    /** The user tools a root may call when its spawn names none (createAgentSystem({ tools })). */
    readonly systemTools?: readonly string[];
    /** How long an agent whose user tools no process has waits for one before it fails; default 60 s. */
    readonly missingToolTimeoutMs?: number;
    /** `run_command` programs whose calls wait for a person's approval (they must be allowed too). */
    readonly commandsNeedingApproval?: readonly string[];
    /** How long a parked call waits before it is denied on its own, unless its tool says; default: for ever. */
    readonly approvalTimeoutMs?: number;
    readonly cleanupPolicy: CleanupPolicy;
    readonly allowCommands: boolean;
    /** How long one `run_command` may run before it is killed. */
    readonly commandTimeoutMs: number;
    /**
     * How long close() lets model calls already sent finish and be recorded, and then how long it
     * waits for aborted work (a tool that ignores its signal) to settle; default 5000 each.
     */
    readonly closeDrainMs?: number;
    /**
     * Where worktrees go: the configured folder (absolute; null: the default beside the
     * repository), and whether a caller's path names it (resolved by the adapter, not here).
     */
    readonly worktreeBase?: { readonly path: string | null; accepts(path: string): boolean };
  };
}
