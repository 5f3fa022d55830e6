import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createAgentSystem, type AgentSystem } from '../../src/system.js';
import { checkTreeAtRest } from '../support/actorsInvariants.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';

/** A fork made by a client that hosts nothing is run by a worker process, as any other agent. */
function startWorker(url: string, schema: string, owner: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'tests/support/workerProcess.ts', url, schema, owner], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (chunk: string) => {
      if (chunk.split('\n').some((l) => l.startsWith('ready'))) resolve(proc);
    });
    proc.once('exit', (code) => reject(new Error(`worker ${owner} exited early (${code})`)));
  });
}

describe('forks and workers', () => {
  let worker: ChildProcess | undefined;
  let client: AgentSystem | undefined;
  afterAll(async () => {
    worker?.kill('SIGKILL');
    await client?.close();
  });

  it('a worker runs a fork the client opened', { timeout: 120_000 }, async () => {
    const url = testPgUrl();
    const schema = freshSchema('fwk');
    client = await createAgentSystem({ store: { kind: 'postgres', connectionString: url }, schema, model: { provider: 'offline' }, env: {}, worker: { owner: 'client', capacity: 0 } });
    worker = await startWorker(url, schema, 'w1');
    const source = await client.spawn({ role: 'analyst', task: 'Check the numbers', budget: 20_000 });
    expect((await source.run()).status).toBe('completed');
    const at = (await client.history(source.id)).findLastIndex((e) => e.type === 'ModelReplied') - 1;
    const fork = await client.fork(source.id, { atRevision: at });
    // The client hosts nothing (capacity 0): the worker ran the fork to its end.
    expect((await fork.run()).status).toBe('completed');
    await checkTreeAtRest(client, fork.id);
    await checkTreeAtRest(client, source.id);
  });
});
