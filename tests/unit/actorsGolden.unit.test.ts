import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DomainEvent } from '../../src/events/catalogue.js';
import { parseRecorded } from '../../src/events/upcast.js';
import { fold, stateView } from '../../src/actors/replay.js';
import { ADDED_SINCE_RECORDED, fromGolden, toJson, type GoldenFixture } from '../support/goldenHistory.js';

/**
 * Golden histories (tests/fixtures/golden-*.json, recorded by tests/int/actorsGolden.int.test.ts):
 * recorded streams must keep replaying to the state stored beside them after every change. If
 * one breaks, either the change is a bug or it needs an upcaster (src/events/upcast.ts) or, for a
 * deliberate change of behaviour, a new fixture.
 */

const dir = fileURLToPath(new URL('../fixtures/', import.meta.url));
const fixtures = readdirSync(dir).filter((f) => f.startsWith('golden-') && f.endsWith('.json'));

describe('golden histories replay to their recorded state', () => {
  it('has the three recorded scenarios', () => {
    expect(fixtures.sort()).toEqual(['golden-budget-exhausted.json', 'golden-solo.json', 'golden-tree-with-fire.json']);
  });

  for (const file of fixtures) {
    const fixture = JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as GoldenFixture;
    it(`${fixture.name}: ${fixture.description}`, () => {
      expect(fixture.streams.length).toBeGreaterThan(0);
      for (const stream of fixture.streams) {
        const parsed = stream.events.map((e) => parseRecorded(fromGolden(e)));
        const events = parsed.map((e) => ({ type: e.type, data: e.data }) as DomainEvent);
        const last = parsed[parsed.length - 1]!.revision;
        expect(toJson(stateView(fold(events), last))).toEqual({ ...ADDED_SINCE_RECORDED, ...(stream.expected as object) });
        // Every prefix replays too (what `system.replay(id, { toRevision })` does).
        for (let i = 1; i < events.length; i++) expect(() => fold(events.slice(0, i))).not.toThrow();
      }
    });
  }
});
