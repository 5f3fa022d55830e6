import { describe, expect, it } from 'vitest';
import { pureToolResult, runTool, type ToolContext } from '../../src/actors/toolRunner.js';
import type { AgentContext } from '../../src/actors/agentContext.js';
import type { WorkspacePort } from '../../src/actors/ports/workspacePort.js';

/** A context whose workspace records what the tools asked of it. */
function contextWithFiles(): { ctx: ToolContext; reads: string[] } {
  const reads: string[] = [];
  const files = { read: async (path: string) => (reads.push(path), `contents of ${path}`) };
  const ctx = {
    agentId: 'a1',
    context: { workspace: { path: '/w' }, tools: [], outputSchema: null } as unknown as AgentContext,
    toolUseId: 't1',
    workspaces: { files: () => files } as unknown as WorkspacePort,
    messages: null,
    allowCommands: false,
    commandTimeoutMs: 1000,
    idempotencyKey: 'k',
    signal: new AbortController().signal,
    spawnAndWait: () => Promise.reject(new Error('not here')),
    rootOf: () => Promise.resolve(null),
    recordMessagesReceived: () => Promise.resolve(),
  } satisfies ToolContext;
  return { ctx, reads };
}

describe('built-in tool inputs are strict, as the schemas the model is shown say', () => {
  it('refuses a key no tool reads, naming it, and runs nothing', async () => {
    const { ctx, reads } = contextWithFiles();
    const r = await runTool('read_file', { path: 'a.txt', file: 'secret.txt' }, ctx);
    expect(r.isError).toBe(true);
    expect(r.output).toMatch(/invalid input for read_file: .*"file"/);
    expect(reads).toEqual([]);
  });

  it('runs the same call without the extra key', async () => {
    const { ctx, reads } = contextWithFiles();
    expect(await runTool('read_file', { path: 'a.txt' }, ctx)).toEqual({ output: 'contents of a.txt', isError: false });
    expect(reads).toEqual(['a.txt']);
  });

  it('refuses extra keys in finish, plain and structured, so the model gets another try', () => {
    expect(pureToolResult('finish', { output: 'done', summary: 'x' })).toMatchObject({ isError: true, output: expect.stringMatching(/finish: .*"summary"/) });
    const schema = { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] };
    expect(pureToolResult('finish', { output: { n: 1 }, note: 'x' }, undefined, schema)).toMatchObject({ isError: true, output: expect.stringMatching(/"note"/) });
    expect(pureToolResult('finish', { output: { n: 1 } }, undefined, schema)).toEqual({ output: '{"n":1}', isError: false });
    expect(pureToolResult('finish', { output: 'done' })).toEqual({ output: 'done', isError: false });
  });
});
