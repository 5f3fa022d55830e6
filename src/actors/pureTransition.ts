import { createActor, type AnyActorScope, type AnyStateMachine, type EventFromLogic, type SnapshotFrom } from 'xstate';

type Action = { exec?: (...a: never[]) => unknown; info?: unknown; params?: unknown };

/** One scope per machine, reused by every call (see `pureTransition`). */
const scopes = new WeakMap<AnyStateMachine, { scope: AnyActorScope; sink: { actions: Action[] } }>();

function scopeOf(machine: AnyStateMachine): { scope: AnyActorScope; sink: { actions: Action[] } } {
  let entry = scopes.get(machine);
  if (!entry) {
    const self = createActor(machine);
    const sink = { actions: [] as Action[] };
    const scope = {
      self,
      id: '',
      sessionId: '',
      system: self.system,
      logger: () => {},
      defer: () => {},
      emit: () => {},
      stopChild: () => {},
      actionExecutor: (action: Action) => void sink.actions.push(action),
    } as unknown as AnyActorScope;
    entry = { scope, sink };
    scopes.set(machine, entry);
  }
  return entry;
}

/**
 * xstate's `transition(machine, snapshot, event)`: the next snapshot and the actions to run,
 * executing nothing. xstate's own builds a throwaway actor, with its initial snapshot and an
 * actor system, on every call: ~140 µs of a ~160 µs transition on this machine
 * (.prof-style micro-benchmark of AgentRunRequested), about five per agent-step event. The agent
 * machine invokes and spawns no actors, so nothing registers in the scope's system and one scope
 * per machine serves every call. Synchronous: the sink is never shared between two calls.
 */
export function pureTransition<M extends AnyStateMachine>(machine: M, snapshot: SnapshotFrom<M>, event: EventFromLogic<M>): [SnapshotFrom<M>, Action[]] {
  const { scope, sink } = scopeOf(machine);
  const actions: Action[] = [];
  sink.actions = actions;
  const next = machine.transition(snapshot as never, event as never, scope) as SnapshotFrom<M>;
  return [next, actions];
}
