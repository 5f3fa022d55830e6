import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/infra/logger.js';

/** A destination that keeps the lines written to it. */
function capture(): { lines: () => Array<Record<string, unknown>>; write: (line: string) => void } {
  const out: string[] = [];
  return { lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>), write: (line) => void out.push(line) };
}

describe('createLogger (pino loaded at the first enabled line)', () => {
  it('writes only lines at or above its level, with child bindings and redaction', () => {
    const dest = capture();
    const log = createLogger('warn', dest);
    log.debug({ a: 1 }, 'not written');
    log.info({ a: 2 }, 'not written either');
    expect(dest.lines()).toEqual([]);
    const child = log.child({ agentId: 'a-1' });
    child.info({ b: 1 }, 'below warn');
    child.warn({ apiKey: 'sk-ant-secret-value-123456' }, 'written');
    log.error({ c: 3 });
    const lines = dest.lines();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 40, agentId: 'a-1', apiKey: '[redacted]', msg: 'written', app: 'cadre' });
    expect(lines[1]).toMatchObject({ level: 50, c: 3 });
    expect(lines[1]).not.toHaveProperty('msg');
  });

  it('says which levels are enabled', () => {
    type Checked = { isLevelEnabled(level: string): boolean };
    const info = createLogger('info', capture()) as unknown as Checked;
    expect([info.isLevelEnabled('debug'), info.isLevelEnabled('info'), info.isLevelEnabled('error')]).toEqual([false, true, true]);
    expect((createLogger('silent', capture()) as unknown as Checked).isLevelEnabled('error')).toBe(false);
  });
});
