import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/cadre.js', import.meta.url));

export interface BinRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the real `cadre` in a child process with exactly `env` added to PATH and HOME (no
 * DATABASE_URL, API key or dashboard token from the test's own environment).
 */
export function runCadre(args: readonly string[], env: Record<string, string>, options: { timeoutMs?: number } = {}): Promise<BinRun> {
  const base: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1' };
  return new Promise((resolve) => {
    execFile('node', [BIN, ...args], { env: { ...base, ...env }, timeout: options.timeoutMs ?? 120_000, maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}
