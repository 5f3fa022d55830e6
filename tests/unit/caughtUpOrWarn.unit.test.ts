import { describe, expect, it } from 'vitest';
import { caughtUpOrWarn } from '../../src/cli/caughtUpOrWarn.js';
import type { CliContext } from '../../src/cli/context.js';
import { TimedOut } from '../../src/errors.js';

/** `cadre report` printed a run short, exit 0, nothing said, while an open transaction held the read models back (a trial's). */
describe('caughtUpOrWarn', () => {
  const ctxWith = (lines: string[]): CliContext => ({ output: { err: (l: string) => void lines.push(l) } }) as unknown as CliContext;

  it('says the figures may be behind when the read models do not catch up', async () => {
    const lines: string[] = [];
    await caughtUpOrWarn(ctxWith(lines), { caughtUp: () => Promise.reject(new TimedOut('projections reaching position 9', 15_000)) });
    expect(lines).toEqual([expect.stringMatching(/^cadre warn: the read models are behind the store .* `cadre projections status` shows the lag$/)]);
  });

  it('says nothing when they do', async () => {
    const lines: string[] = [];
    await caughtUpOrWarn(ctxWith(lines), { caughtUp: () => Promise.resolve() });
    expect(lines).toEqual([]);
  });
});
