import { describe, expectTypeOf, it } from 'vitest';
import type { AgentHandle, AgentState, AgentSystem, HistoryEvent, ReceivedMessage } from '../../src/index.js';

/** Types users see at the package entry; `npm run typecheck` fails when one widens to unknown. */
describe('public types', () => {
  it('receiveMessages returns typed messages', () => {
    type Got = Awaited<ReturnType<AgentHandle['receiveMessages']>>[number];
    expectTypeOf<Got>().toEqualTypeOf<ReceivedMessage>();
    expectTypeOf<Got['from']>().toEqualTypeOf<string>();
    expectTypeOf<Got['priority']>().toEqualTypeOf<number>();
    expectTypeOf<Got['attempt']>().toEqualTypeOf<number>();
  });

  it('receiveMessages says when each message was sent', () => {
    expectTypeOf<ReceivedMessage['sentAt']>().toEqualTypeOf<Date>();
  });

  it('the system does not hand out its environment (the API key is in it)', () => {
    expectTypeOf<AgentSystem>().not.toHaveProperty('env');
  });

  it('state() is JSON as it is: its revision is a number', () => {
    expectTypeOf<AgentState['revision']>().toEqualTypeOf<number>();
  });

  it('events() yields the typed events history() returns, narrowed by type', () => {
    type Of<F> = F extends (...args: never[]) => AsyncIterable<infer E> ? E : never;
    expectTypeOf<Of<AgentHandle['events']>>().toEqualTypeOf<HistoryEvent>();
    expectTypeOf<Of<AgentSystem['events']>>().toEqualTypeOf<HistoryEvent>();
    expectTypeOf<Extract<HistoryEvent, { type: 'ChildSpawned' }>['data']['childId']>().toEqualTypeOf<string>();
    expectTypeOf<Extract<HistoryEvent, { type: 'AgentCompleted' }>['data']['output']>().toEqualTypeOf<string>();
    expectTypeOf<HistoryEvent['position']>().toEqualTypeOf<number>();
  });
});
