import { describe, expectTypeOf, it } from 'vitest';
import type { AgentHandle, ReceivedMessage } from '../../src/index.js';

/** Types users see at the package entry; `npm run typecheck` fails when one widens to unknown. */
describe('public types', () => {
  it('receiveMessages returns typed messages', () => {
    type Got = Awaited<ReturnType<AgentHandle['receiveMessages']>>[number];
    expectTypeOf<Got>().toEqualTypeOf<ReceivedMessage>();
    expectTypeOf<Got['from']>().toEqualTypeOf<string>();
    expectTypeOf<Got['priority']>().toEqualTypeOf<number>();
    expectTypeOf<Got['attempt']>().toEqualTypeOf<number>();
  });
});
