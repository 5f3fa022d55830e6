import { createAgentSystem, type AgentSystem, type AgentSystemOptions } from '../../src/system.js';
import { freshSchema, testPgUrl } from './testDb.js';

export type StoreKind = 'pglite' | 'postgres';

/** A system on a fresh schema of the chosen store, offline model unless given. */
export async function testSystem(kind: StoreKind, options: AgentSystemOptions = {}): Promise<AgentSystem> {
  return createAgentSystem({
    store: kind === 'postgres' ? { kind: 'postgres', connectionString: testPgUrl() } : { kind: 'pglite' },
    schema: freshSchema('sys'),
    model: { provider: 'offline' },
    env: {},
    ...options,
  });
}
