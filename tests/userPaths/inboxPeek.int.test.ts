import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cadre } from '../support/embeddedCli.js';

/**
 * `cadre inbox <agent>` is a look (issue 16, case 5): before, it fell through to receive, so each
 * look recorded MessageReceived, used a delivery attempt, and the fifth dead-lettered the message.
 */
describe('cadre inbox without --claim only looks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-userpath-inbox-'));
  const db = join(dir, 'db');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const ok = async (...args: string[]): Promise<string> => {
    const r = await cadre(db, ...args);
    expect(r.code, `cadre ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const spawnAgent = async (role: string): Promise<string> => (JSON.parse(await ok('spawn', '--role', role, '--task', 't', '--budget', '1000', '--json')) as { id: string }).id;

  it('six looks change nothing; one claim then delivers the message on its first attempt and acknowledges it', async () => {
    const from = await spawnAgent('sender');
    const to = await spawnAgent('receiver');
    await ok('send', from, to, '{"text":"hello"}', '--priority', '5');
    const before = await ok('history', to, '--json');

    for (let i = 0; i < 6; i++) {
      const seen = JSON.parse(await ok('inbox', to, '--json')) as { payload: unknown; attempts: number; state: string }[];
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ payload: { text: 'hello' }, attempts: 0, state: 'pending' });
    }
    expect(await ok('history', to, '--json')).toBe(before);

    const claimed = JSON.parse(await ok('inbox', to, '--claim', '--json')) as { payload: unknown; attempt: number }[];
    expect(claimed).toEqual([expect.objectContaining({ payload: { text: 'hello' }, attempt: 1 })]);
    const after = JSON.parse(await ok('history', to, '--json')) as { type: string }[];
    expect(after.filter((e) => e.type === 'MessageReceived')).toHaveLength(1);
    // A claim takes them: acknowledged, gone for good (unacknowledged, it came back after 30 s,
    // each claim used a delivery, and the fifth dead-lettered it).
    expect(JSON.parse(await ok('inbox', to, '--json'))).toEqual([]);
    expect(after.filter((e) => e.type === 'MessageAcked')).toHaveLength(1);
  }, 900_000);
});
