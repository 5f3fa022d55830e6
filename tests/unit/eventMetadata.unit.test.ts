import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { EventMetadata, RecordedEvent } from '../../src/events/envelope.js';
import { fullMetadata, leanMetadata } from '../../src/events/metadata.js';
import { parseRecorded } from '../../src/events/upcast.js';
import { validateAppend } from '../../src/events/stores/validateAppend.js';
import { InvalidInput } from '../../src/errors.js';
import { fromGolden, type GoldenFixture } from '../support/goldenHistory.js';

const root = '72e36ee9-d827-43e4-90fd-244165b3aacc';
const child = 'cfec2889-384e-4863-beca-feab029db61d';
const at = '2026-11-23T22:59:44.432Z';

const recorded = (streamId: string, type: string, data: unknown, metadata: RecordedEvent['metadata']): RecordedEvent => ({
  id: '00000000-0000-4000-8000-000000000001', type, data, metadata, streamId, revision: 4n, position: 17n,
});

describe('lean event metadata (issue 19)', () => {
  it('stores nothing a root agent stream already says, and reads it back in full', () => {
    const full: EventMetadata = { correlationId: root, causationId: `agent:${root}`, schemaVersion: 1, at };
    const lean = leanMetadata(`agent-${root}`, full);
    expect(lean).toEqual({ at });
    expect(fullMetadata(`agent-${root}`, lean)).toEqual(full);
  });

  it("keeps a child's correlation, a cause of its own, a later schema version and extra keys", () => {
    const leaseTo = { owner: 'vm:1:a', ttlMs: 5000 };
    const full: EventMetadata = { correlationId: root, causationId: `agent:${root}`, schemaVersion: 2, at, leaseTo };
    const lean = leanMetadata(`agent-${child}`, full);
    expect(lean).toEqual(full);
    expect(leanMetadata(`agent-${child}`, { ...full, causationId: `agent:${child}`, schemaVersion: 1 })).toEqual({ correlationId: root, at, leaseTo });
  });

  it('parses lean and full metadata to the same envelope', () => {
    const full = recorded(`agent-${child}`, 'AgentRunRequested', {}, { correlationId: root, causationId: `agent:${child}`, schemaVersion: 1, at });
    const lean = recorded(`agent-${child}`, 'AgentRunRequested', {}, { correlationId: root, at });
    expect(parseRecorded(lean)).toEqual(parseRecorded(full));
    expect(parseRecorded(lean).metadata).toEqual({ correlationId: root, causationId: `agent:${child}`, schemaVersion: 1, at });
  });

  it('reads an old event (every key stored) exactly as it was stored', () => {
    const old = { at, causationId: 'api:spawn', correlationId: root, schemaVersion: 1 };
    const parsed = parseRecorded(recorded(`agent-${root}`, 'AgentRunRequested', {}, old));
    expect(parsed.metadata).toBe(old);
  });

  it('a missing schema version reads as 1 and an explicit old one is still upcast', () => {
    const v1 = { childId: child, allocated: 1000, returned: 400, spent: 600 };
    const lean = parseRecorded(recorded(`agent-${root}`, 'BudgetReclaimed', v1, { at }));
    const explicit = parseRecorded(recorded(`agent-${root}`, 'BudgetReclaimed', v1, { correlationId: root, causationId: `agent:${root}`, schemaVersion: 1, at }));
    expect(lean).toEqual(explicit);
    expect(lean.metadata.schemaVersion).toBe(1);
    expect(lean.data).toMatchObject({ overspent: 0 });
  });

  it('round-trips any metadata on any stream', () => {
    const id = fc.constantFrom(root, child, 'x');
    fc.assert(fc.property(
      fc.constantFrom(`agent-${root}`, `agent-${child}`, 'test-stream', 'agent-'),
      id, fc.oneof(id.map((i) => `agent:${i}`), fc.constantFrom('api:spawn', 'timer')), fc.integer({ min: 1, max: 3 }), fc.boolean(),
      (streamId, correlationId, causationId, schemaVersion, leased) => {
        const full: EventMetadata = { correlationId, causationId, schemaVersion, at, ...(leased ? { leaseTo: { owner: 'o', ttlMs: 1 } } : {}) };
        expect(fullMetadata(streamId, leanMetadata(streamId, full))).toEqual(full);
      },
    ));
  });

  it('outside agent streams only the schema version may be left out, on write and on read', () => {
    const event = { id: '00000000-0000-4000-8000-000000000002', type: 'T', data: {}, metadata: { correlationId: 'c', at } };
    expect(() => validateAppend('test-stream', [event], 'any')).toThrow(InvalidInput);
    expect(() => validateAppend('test-stream', [{ ...event, metadata: { ...event.metadata, causationId: 'k' } }], 'any')).not.toThrow();
    expect(() => validateAppend(`agent-${root}`, [{ ...event, metadata: { at } }], 'any')).not.toThrow();
    expect(() => validateAppend(`agent-${root}`, [{ ...event, metadata: { at, schemaVersion: 0 } }], 'any')).toThrow(InvalidInput);
    expect(() => parseRecorded(recorded('test-stream', 'AgentRunRequested', {}, { at }))).toThrow(/stored event test-stream@4 cannot be read: metadata\.correlationId/);
  });

  it('golden histories stored lean parse to the very events they parse to as recorded', () => {
    const dir = fileURLToPath(new URL('../fixtures/', import.meta.url));
    for (const file of readdirSync(dir).filter((f) => f.startsWith('golden-') && f.endsWith('.json'))) {
      const fixture = JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as GoldenFixture;
      for (const stream of fixture.streams) {
        const recordedEvents = stream.events.map(fromGolden);
        const lean = recordedEvents.map((e) => ({ ...e, metadata: leanMetadata(e.streamId, e.metadata as EventMetadata) }));
        expect(lean.map(parseRecorded), file).toEqual(recordedEvents.map(parseRecorded));
      }
    }
  });
});
