import { createAgentSystem, type AgentSystem, type AgentSystemOptions } from './system.js';

/**
 * The system behind the seed-style statics (`Agent.spawn`, `WorkflowAgent.spawnFromTemplate`):
 * built from the environment on first use, as `cadre` itself is, and closed as soon as no call
 * is using it, so a script that never calls `close()` still ends. Handles hold only an id and
 * reopen it when used again. A program with its own system makes it the default instead with
 * `useDefaultSystem(system)`; that one is never closed here.
 *
 * Closing waits for a turn of the event loop after the last call returns: a script's next call
 * (`await a.spawn(...); await a.run()`) starts before that, and keeps the same system open.
 */
let given: AgentSystem | null = null;
let options: AgentSystemOptions = {};
let opened: Promise<AgentSystem> | null = null;
let closing: Promise<void> | null = null;
let inUse = 0;
let closeTimer: NodeJS.Immediate | null = null;

/** Makes `system` the default (or, with null, goes back to one built from the environment). */
export function useDefaultSystem(system: AgentSystem | null): void {
  given = system;
}

/**
 * Options for the default system built from the environment (the seed's `workspaceConfig.basePath`
 * is one). Applies from the next time it opens.
 */
export function configureDefaultSystem(more: AgentSystemOptions): void {
  options = { ...options, ...more };
}

/** Runs `fn` on the default system, opening it if needed; closes it once nothing uses it. */
export async function withDefaultSystem<T>(fn: (system: AgentSystem) => Promise<T>): Promise<T> {
  if (given) return fn(given);
  inUse++;
  if (closeTimer) clearImmediate(closeTimer);
  closeTimer = null;
  try {
    if (closing) await closing;
    opened ??= createAgentSystem(options).catch((err: unknown) => {
      opened = null;
      throw err;
    });
    return await fn(await opened);
  } finally {
    if (--inUse === 0) closeTimer = setImmediate(closeIfIdle);
  }
}

function closeIfIdle(): void {
  closeTimer = null;
  if (inUse > 0 || !opened) return;
  const system = opened;
  opened = null;
  closing = system.then((s) => s.close(), () => undefined).finally(() => (closing = null));
}
