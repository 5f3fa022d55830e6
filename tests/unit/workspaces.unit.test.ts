import { describe, expect, it } from 'vitest';
import { createWorkspaces } from '../../src/infra/workspace/workspaces.js';
import { WorkspaceError } from '../../src/errors.js';

describe('system.workspaces without a git repository', () => {
  it('is there, says it has no repository, and every method refuses saying how to give it one', async () => {
    const ws = createWorkspaces(null, null, { policy: 'on_completion', endOf: async () => 'unknown' });
    expect(ws.repo).toBeNull();
    for (const call of [() => ws.list(), () => ws.diff('a1b2c3d4'), () => ws.remove('a1b2c3d4'), () => ws.cleanup({ dryRun: true })]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkspaceError);
      expect((err as Error).message).toMatch(/^no git repository here/);
      expect((err as Error).message).toContain('WORKSPACE_REPO');
    }
  });
});
