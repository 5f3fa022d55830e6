import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { eventSchemas } from '../../src/events/catalogue.js';
import { EVENT_DOCS_PATH, renderEventDocs } from '../../scripts/gen-event-docs.js';

describe('docs/events.md', () => {
  it('is up to date with the event catalogue (regenerate: npx tsx scripts/gen-event-docs.ts)', () => {
    expect(readFileSync(EVENT_DOCS_PATH, 'utf8')).toBe(renderEventDocs());
  });

  it('documents every event type with its version', () => {
    const doc = renderEventDocs();
    for (const [type, e] of Object.entries(eventSchemas)) expect(doc).toContain(`### ${type} (v${e.version})`);
  });
});
