import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkspacePort } from '../../src/infra/workspace/workspacePort.js';
import { refuseCodeRunning } from '../../src/infra/workspace/refuseCodeRunning.js';
import { createTempRepo } from '../support/gitRepo.js';

/**
 * Programs a user may allow-list that run another program, or open what a script or a walk
 * names (an attacker's second try, with sort, tar, find, sed and diff allowed, ran `sh` and read
 * the API key from /proc, and printed a file outside through a link): the options that run a
 * program are refused, sed runs in its sandbox and diff does not follow links.
 */
describe('allow-listed programs that can run a program or open what the argument check never sees', () => {
  const outside = realpathSync(mkdtempSync(join(tmpdir(), 'cadre-runners-outside-')));
  writeFileSync(join(outside, 'secret.txt'), 'TOPSECRET-OUTSIDE\n');
  const repo = createTempRepo({ prefix: 'cadre-runners-', files: { 'notes.txt': 'inside\n', 'x': 'touch ran-by-sh\n' } });
  mkdirSync(join(repo.path, 'd'));
  mkdirSync(join(repo.path, 'e'));
  symlinkSync(join(outside, 'secret.txt'), join(repo.path, 'd', 's'));
  writeFileSync(join(repo.path, 'e', 's'), 'nothing\n');
  repo.git(['add', '--all']);
  repo.git(['commit', '-q', '-m', 'a link in d']);
  const port = createWorkspacePort({ repo: repo.path, basePath: repo.basePath, allowedCommands: ['sed', 'sort', 'tar', 'find', 'diff'] });
  afterAll(() => {
    port.stop?.();
    repo.cleanup();
    rmSync(outside, { recursive: true, force: true });
  });

  it('refuses the options that run another program, by any prefix getopt would expand', async () => {
    const ws = await port.create('a1', {});
    const refused: Array<[string, string[]]> = [
      ['sort', ['-S', '1K', '-T', '.', '--compress-program=sh', 'x']],
      ['sort', ['--compress-prog=sh', 'x']],
      ['tar', ['-cf', 'a.tar', '--checkpoint=1', '--checkpoint-action=exec=sh x', 'notes.txt']],
      ['tar', ['-cf', 'b.tar', '-I', 'sh x', 'notes.txt']],
      ['tar', ['cIf', 'sh x', 'b.tar', 'notes.txt']],
      ['tar', ['-cf', 'v.tar', '--use-compress-program=sh x', 'notes.txt']],
      ['tar', ['-xf', 'u.tar', '--to-command=sh x']],
      ['find', ['.', '-maxdepth', '1', '-exec', 'sh', 'x', ';']],
      ['find', ['.', '-execdir', 'sh', 'x', ';']],
      ['find', ['.', '-fprint', 'out']],
    ];
    for (const [program, args] of refused) {
      await expect(port.run!('a1', ws.path, program, args, 5_000), `${program} ${args.join(' ')}`).rejects.toThrow(/runs another program; refused/);
    }
    expect(existsSync(join(ws.path, 'ran-by-sh'))).toBe(false);
    // What stays: sort, tar and find doing their own work.
    expect((await port.run!('a1', ws.path, 'sort', ['-r', 'notes.txt', 'x'], 5_000)).exitCode).toBe(0);
    expect((await port.run!('a1', ws.path, 'tar', ['-cf', 'ok.tar', 'notes.txt'], 5_000)).exitCode).toBe(0);
    expect((await port.run!('a1', ws.path, 'find', ['.', '-name', 'notes.txt', '-print'], 5_000)).stdout).toContain('notes.txt');
    expect(() => refuseCodeRunning('find', ['.', '-name', '-exec'])).toThrow(/find -exec/); // a word is a word, wherever it stands
    expect(() => refuseCodeRunning('sort', ['--', '--compress-program=sh'])).not.toThrow(); // after --, a file name
  });

  it('runs sed in its sandbox: a script that runs a program, reads or writes a file is refused by sed', async () => {
    const ws = await port.create('a2', {});
    writeFileSync(join(ws.path, 's.sed'), '1e sh x\n');
    const script = await port.run!('a2', ws.path, 'sed', ['-n', '-f', 's.sed', 'notes.txt'], 5_000);
    expect(script.exitCode).not.toBe(0);
    expect(script.stderr).toMatch(/disabled in sandbox mode/);
    // Named inline, the link is the argument check's: refused before sed runs.
    await expect(port.run!('a2', ws.path, 'sed', ['-n', '1r d/s', 'notes.txt'], 5_000)).rejects.toThrow(/through a symbolic link/);
    writeFileSync(join(ws.path, 'r.sed'), '1r d/s\n');
    const read = await port.run!('a2', ws.path, 'sed', ['-n', '-f', 'r.sed', 'notes.txt'], 5_000);
    expect(read.stdout).not.toContain('TOPSECRET');
    expect(existsSync(join(ws.path, 'ran-by-sh'))).toBe(false);
    expect((await port.run!('a2', ws.path, 'sed', ['-n', 's/in/IN/p', 'notes.txt'], 5_000)).stdout).toBe('INside\n');
  });

  it('runs diff without following the links it meets in a folder it compares', async () => {
    const ws = await port.create('a3', {});
    for (const args of [['d', 'e'], ['-rN', 'd', 'e']]) {
      const r = await port.run!('a3', ws.path, 'diff', args, 5_000);
      expect(r.stdout, args.join(' ')).not.toContain('TOPSECRET');
    }
  });
});
