import { describe, expect, it } from 'vitest';
import { humanLogLine } from '../../src/infra/humanLogLine.js';

describe('humanLogLine', () => {
  it('turns a pino line into one readable line: level, message, error message, agent', () => {
    const line = JSON.stringify({ level: 40, time: 1, app: 'cadre', agentId: 'a1', err: { type: 'Error', message: 'boom\nsecond line', stack: 'Error: boom\n    at x' }, msg: 'refresh failed' });
    expect(humanLogLine(`${line}\n`)).toBe('cadre warn: refresh failed: boom second line (agent a1)\n');
    expect(humanLogLine(JSON.stringify({ level: 50, msg: 'sweep failed', err: 'gone' }))).toBe('cadre error: sweep failed: gone\n');
  });

  it('adds the plain fields at debug and trace only', () => {
    const o = { level: 20, msg: 'model call', ms: 12, stopReason: 'end_turn', usage: { input: 1 } };
    expect(humanLogLine(JSON.stringify(o))).toBe('cadre debug: model call ms=12 stopReason=end_turn\n');
    expect(humanLogLine(JSON.stringify({ ...o, level: 30 }))).toBe('cadre info: model call\n');
  });

  it('passes a line that is not JSON through unchanged', () => {
    expect(humanLogLine('plain text\n')).toBe('plain text\n');
  });
});
