import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
export const CADRE_BIN = join(process.cwd(), 'bin', 'cadre.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real bin (`node bin/cadre.js …`) as a user would, in its own process, with `env`
 * as its whole environment (and `cwd`, default this one); a non-zero exit is returned, not thrown.
 */
export async function runCadre(args: readonly string[], env: NodeJS.ProcessEnv, options: { cwd?: string } = {}): Promise<CliRun> {
  try {
    const { stdout, stderr } = await exec('node', [CADRE_BIN, ...args], { env, timeout: 120_000, maxBuffer: 16 << 20, ...options });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/**
 * Spawns an idle agent through the CLI (`cadre spawn --role <role> … --json`) and returns its id;
 * throws with cadre's stderr when it fails.
 */
export async function spawnWithCli(cadre: (...args: string[]) => Promise<CliRun>, role: string): Promise<string> {
  const r = await cadre('spawn', '--role', role, '--task', 't', '--budget', '100', '--json');
  if (r.code !== 0) throw new Error(`cadre spawn exited ${r.code}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { id: string }).id;
}
