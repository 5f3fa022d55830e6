import { describe, expect, it } from 'vitest';
import type { EventStore } from '../../src/events/eventStore.js';
import { attachWorkflows, spawnWorkflow } from '../../src/workflows/index.js';
import { composeRuntime } from '../support/runtime.js';
import { freshSchema } from '../support/testDb.js';

/** Counts each stream's reads from its start between the runtime and the real store. */
function countingReads(inner: EventStore, reads: Map<string, number>): EventStore {
  return {
    kind: inner.kind,
    append: inner.append.bind(inner),
    readStream: (streamId, opts) => {
      // A read from the start: the stream read back. (An ended actor's copy is checked for later
      // writes from its last revision, an empty read, when it is looked up after it left the cache.)
      if (!opts?.from) reads.set(streamId, (reads.get(streamId) ?? 0) + 1);
      return inner.readStream(streamId, opts);
    },
    readAll: inner.readAll.bind(inner),
    subscribeToAll: inner.subscribeToAll.bind(inner),
    headPosition: inner.headPosition.bind(inner),
    close: inner.close.bind(inner),
  };
}

describe('an agent step reads nothing it wrote itself', () => {
  it('a workflow node child opened by this process is never read back from its stream while the run goes on', async () => {
    const reads = new Map<string, number>();
    const rt = await composeRuntime(freshSchema('reads'), (s) => countingReads(s, reads));
    try {
      attachWorkflows(rt.runtime);
      const graph = { nodes: ['a', 'b', 'c'].map((id, i) => ({ id, role: 'tester', task: id.toUpperCase(), budgetPercent: 30, dependencies: i === 0 ? [] : [['a', 'b', 'c'][i - 1]!] })) };
      const root = await spawnWorkflow(rt.runtime, { graph }, { task: 't', budget: 30_000 });
      expect((await rt.runtime.run(root)).status).toBe('completed');
      const children = (await rt.runtime.state(root)).children.map((c) => `agent-${c.id}`);
      expect(children).toHaveLength(3);
      // The parent's awaitChildren used to reload every new child (a snapshot read and a stream
      // read per agent step) because it waited on the child's opening and then ignored the cache.
      expect(children.map((c) => reads.get(c) ?? 0)).toEqual([0, 0, 0]);
    } finally {
      await rt.close();
    }
  });
});
