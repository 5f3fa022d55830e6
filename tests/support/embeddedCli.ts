import type { ChildProcess } from 'node:child_process';
import { runCadre, type CliRun } from './cadreCli.js';
import { startCli } from './cliProcess.js';

export type { CliRun };

/** The environment a new user's shell would give `cadre`: an embedded store in `dataDir`, no server, the offline model. */
export function embeddedEnv(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CADRE_DATA_DIR: dataDir, NO_COLOR: '1', LOG_LEVEL: 'error' };
  for (const k of ['DATABASE_URL', 'EVENT_STORE', 'ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL']) delete env[k];
  return env;
}

/** Runs `node bin/cadre.js …` on the embedded store in `dataDir` to its end. */
export function cadre(dataDir: string, ...args: string[]): Promise<CliRun> {
  return runCadre(args, embeddedEnv(dataDir));
}

export interface Background {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything it printed so far. */
  output(): string;
  /** Sends `signal` and resolves with the exit code (or the signal) once it has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Starts `cadre …` on the embedded store in the background; resolves once its output matches `ready` (a signal, not a sleep). */
export async function cadreInBackground(dataDir: string, args: string[], ready: RegExp): Promise<Background> {
  const p = startCli(args, { CADRE_DATA_DIR: dataDir });
  await p.line(ready);
  return {
    child: p.child,
    pid: p.child.pid!,
    output: p.output,
    stop: async (signal = 'SIGTERM') => {
      if (p.child.exitCode === null && p.child.signalCode === null) p.kill(signal);
      return p.exited;
    },
  };
}
