import { spawn, type ChildProcess } from 'node:child_process';

export interface ConfinedResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ConfinedOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
  readonly maxOutput?: number;
  /** Runs in the command's turn, right before the spawn; throwing refuses the command. */
  readonly check?: () => void;
}

export interface ConfinedRunner {
  run(program: string, args: readonly string[], options: ConfinedOptions): Promise<ConfinedResult>;
  /** Kills every process group still running (the agent or the system is ending). */
  killAll(): void;
}

/**
 * Runs an agent's command in its own process group (a detached spawn), and SIGKILLs the whole
 * group — the program and whatever it started in the background — when the program exits, at
 * the time limit, or at `killAll()`. Killing only the child let `(sleep 25 &)` outlive the
 * limit, the agent and the system. A program that calls `setsid()` itself leaves the group:
 * none on the default allow-list does (SECURITY.md).
 */
export function createConfinedRunner(): ConfinedRunner {
  const live = new Set<ChildProcess>();
  // One command at a time per runner (one runner per agent): the argument check looks at the
  // files an argument names *before* the program opens them, so a command running alongside
  // (`git apply` of a patch that makes `s` a symlink to a key file, next to `cat s`, both from
  // one model turn) must not be able to change them in between. Found by attacking it.
  let queue: Promise<unknown> = Promise.resolve();
  const killGroup = (child: ChildProcess): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // ESRCH: the group is already gone.
    }
  };
  return {
    run(program, args, options) {
      const turn = queue.then(() => runOne(program, args, options));
      queue = turn.catch(() => undefined);
      return turn;
    },
    killAll() {
      for (const child of live) killGroup(child);
    },
  };

  function runOne(program: string, args: readonly string[], { cwd, env, timeoutMs, maxOutput = 1_000_000, check }: ConfinedOptions): Promise<ConfinedResult> {
      check?.();
      return new Promise((resolve) => {
        const child = spawn(program, [...args], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
        live.add(child);
        let stdout = '';
        let stderr = '';
        let note = '';
        const take = (which: 'out' | 'err') => (chunk: Buffer) => {
          if (which === 'out') stdout = (stdout + chunk.toString('utf8')).slice(0, maxOutput);
          else stderr = (stderr + chunk.toString('utf8')).slice(0, maxOutput);
        };
        child.stdout.on('data', take('out'));
        child.stderr.on('data', take('err'));
        const timer = setTimeout(() => {
          note = `\n[killed after ${timeoutMs} ms]`;
          killGroup(child);
        }, timeoutMs);
        let exitCode = 0;
        // The leader exiting ends the command: whatever it left running in its group goes too
        // (it would otherwise hold our pipes open, or outlive us).
        child.on('exit', (code, signal) => {
          exitCode = code ?? (signal ? 128 + 9 : 1);
          killGroup(child);
        });
        child.on('error', (err) => {
          stderr += String(err.message);
          exitCode = 127;
        });
        child.on('close', () => {
          clearTimeout(timer);
          live.delete(child);
          resolve({ exitCode, stdout, stderr: stderr + note });
        });
      });
  }
}
