import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentSystem } from '../../src/system.js';
import { fold, stateView } from '../../src/actors/replay.js';
import type { DomainEvent } from '../../src/events/catalogue.js';
import { parseRecorded } from '../../src/events/upcast.js';
import { timelineEntry } from '../../src/dashboard/timeline.js';
import { testSystem, type StoreKind } from '../support/system.js';
import { toJson, type GoldenFixture } from '../support/goldenHistory.js';

/**
 * Lean metadata (issue 19) on a real store: what the runtime appends now leaves out what the
 * stream id says, and an old stream (every key stored, here a golden fixture's) sits beside it;
 * both read back with the full metadata.
 */
const solo = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/golden-solo.json', import.meta.url)), 'utf8')) as GoldenFixture;

for (const kind of ['pglite', 'postgres'] as StoreKind[]) {
  describe(`lean event metadata on ${kind}`, () => {
    let system: AgentSystem;
    beforeAll(async () => {
      system = await testSystem(kind);
    });
    afterAll(() => system.close());

    it('stores new events lean and reads them back full', async () => {
      const lead = await system.spawn({ role: 'lead', task: 'coordinate', budget: 50_000 });
      const child = await lead.spawn({ role: 'worker', task: 'part', budget: 10_000 });
      expect((await lead.run()).status).toBe('completed');
      for (const [agent, rootId] of [[lead.id, lead.id], [child.id, lead.id]] as const) {
        const raw = await system.store.readStream(`agent-${agent}`);
        for (const e of raw) {
          expect(e.metadata.schemaVersion, `${e.type} stored schemaVersion`).not.toBe(1);
          expect(e.metadata.causationId, `${e.type} stored causationId`).not.toBe(`agent:${agent}`);
          expect(e.metadata.correlationId, `${e.type} stored correlationId`).not.toBe(agent);
        }
        const history = await system.history(agent);
        expect(history).toHaveLength(raw.length);
        history.forEach((e, i) => {
          const stored = raw[i]!.metadata;
          expect(e.metadata).toEqual({
            ...stored,
            correlationId: rootId,
            causationId: stored.causationId ?? `agent:${agent}`,
            schemaVersion: stored.schemaVersion ?? 1,
          });
        });
      }
      // The child's own events mostly name only their time: cause, run and version are implied.
      const childRaw = await system.store.readStream(`agent-${child.id}`);
      expect(childRaw.some((e) => Object.keys(e.metadata).sort().join() === 'at,correlationId')).toBe(true);
    });

    it('reads an old stream (full metadata) exactly as stored, beside new ones', async () => {
      const stream = solo.streams[0]!;
      const streamId = `agent-${stream.agentId}`;
      await system.store.append(streamId, stream.events.map((e) => ({ id: e.id, type: e.type, data: e.data, metadata: e.metadata })), { expectedRevision: 'no_stream' });
      const history = await system.history(stream.agentId);
      expect(history.map((e) => e.metadata)).toEqual(stream.events.map((e) => e.metadata));
      expect(history.map((e) => timelineEntry(e).at)).toEqual(stream.events.map((e) => e.metadata.at));
      expect(toJson(await system.replay(stream.agentId))).toEqual(stream.expected);
      const raw = await system.store.readStream(streamId);
      const events = raw.map((r) => parseRecorded(r)).map((e) => ({ type: e.type, data: e.data }) as DomainEvent);
      expect(toJson(stateView(fold(events), raw[raw.length - 1]!.revision))).toEqual(stream.expected);
    });
  });
}
