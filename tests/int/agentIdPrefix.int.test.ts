import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentSystem } from '../../src/system.js';
import { resolveAgentId } from '../../src/dashboard/agentTree.js';
import { InvalidInput, NotFound } from '../../src/errors.js';
import { testSystem } from '../support/system.js';

/**
 * An id prefix (the CLI's `cadre fire 5eb8`, the dashboard's /api/agents/5eb8) is literal text.
 * LIKE's `_` and `%` were dropped from it instead: `5eb_` matched `5eb85408-…` by three characters
 * and `cadre fire 5eb_` fired that agent (a new user's try).
 */
describe('an agent id prefix', () => {
  let system: AgentSystem;
  beforeAll(async () => {
    system = await testSystem('pglite');
    for (const id of ['e3abcdaa-0000-4000-8000-000000000001', '5eb85408-0000-4000-8000-000000000002', 'team_lead-1', 'teamXlead-2']) {
      await system.spawn({ id, role: 'r', task: 't', budget: 100 });
    }
  });
  afterAll(() => system?.close());

  it('matches its own characters only: _ and % are not wildcards', async () => {
    await expect(resolveAgentId(system, '5eb8')).resolves.toBe('5eb85408-0000-4000-8000-000000000002');
    await expect(resolveAgentId(system, '5eb_')).rejects.toBeInstanceOf(NotFound);
    await expect(resolveAgentId(system, 'e3a_bcda')).rejects.toBeInstanceOf(NotFound);
    await expect(resolveAgentId(system, 'e3a%')).rejects.toBeInstanceOf(NotFound);
    await expect(resolveAgentId(system, '%%%%')).rejects.toBeInstanceOf(NotFound);
    await expect(resolveAgentId(system, 'e3\\%')).rejects.toBeInstanceOf(NotFound);
  });

  it('a real _ in an id is matched as itself, and an ambiguous prefix is refused', async () => {
    await expect(resolveAgentId(system, 'team_')).resolves.toBe('team_lead-1');
    await expect(resolveAgentId(system, 'teamX')).resolves.toBe('teamXlead-2');
    await expect(resolveAgentId(system, 'team')).rejects.toBeInstanceOf(InvalidInput);
  });
});
