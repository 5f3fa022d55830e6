import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const BIN = join(process.cwd(), 'bin', 'cadre.js');

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment a new user's shell would give `cadre`: an embedded store in `dataDir`, no server, the offline model. */
export function embeddedEnv(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CADRE_DATA_DIR: dataDir, NO_COLOR: '1', LOG_LEVEL: 'error' };
  delete env.DATABASE_URL;
  delete env.EVENT_STORE;
  delete env.ANTHROPIC_API_KEY;
  delete env.ANTHROPIC_BASE_URL;
  return env;
}

/** Runs `node bin/cadre.js …` to its end. */
export async function cadre(dataDir: string, ...args: string[]): Promise<CliRun> {
  try {
    const { stdout, stderr } = await exec('node', [BIN, ...args], { env: embeddedEnv(dataDir), timeout: 180_000, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export interface Background {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything it printed so far. */
  output(): string;
  /** Sends `signal` and resolves with the exit code (or the signal) once it has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals>;
}

/** Starts `cadre …` in the background and resolves once its output matches `ready` (a signal, not a sleep). */
export function cadreInBackground(dataDir: string, args: string[], ready: RegExp): Promise<Background> {
  const child = spawn('node', [BIN, ...args], { env: embeddedEnv(dataDir), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code ?? 0)));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      if (ready.test(out)) {
        resolve({
          child,
          pid: child.pid!,
          output: () => out,
          stop: async (signal = 'SIGTERM') => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`cadre ${args.join(' ')} exited (${String(code)}) before it was ready:\n${out}`)));
  });
}
