/** A piece of a model reply's text as it arrives, for watchers; never recorded (the reply is). */
export interface ModelTextProgress {
  readonly agentId: string;
  readonly callId: string;
  readonly text: string;
}

/**
 * Who watches which agent's model text arrive, in this process. Calls are made where the agent
 * is hosted, so a watcher sees the text of calls this process makes; the stored reply is what
 * every process sees. With nobody watching, calls do not stream at all (onTextFor is undefined).
 */
export class ProgressHub {
  private readonly watchers = new Map<string, Set<(p: ModelTextProgress) => void>>();

  watch(agentId: string, listener: (p: ModelTextProgress) => void): () => void {
    const set = this.watchers.get(agentId) ?? new Set();
    set.add(listener);
    this.watchers.set(agentId, set);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.watchers.delete(agentId);
    };
  }

  /** The onText for a call of `agentId`'s, or undefined when nobody watches it. */
  onTextFor(agentId: string, callId: string): ((text: string) => void) | undefined {
    if (!this.watchers.has(agentId)) return undefined;
    return (text) => {
      for (const l of this.watchers.get(agentId) ?? []) l({ agentId, callId, text });
    };
  }
}
