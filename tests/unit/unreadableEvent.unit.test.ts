import { describe, expect, it } from 'vitest';
import { parseRecorded } from '../../src/events/upcast.js';
import { eventSchemas } from '../../src/events/catalogue.js';
import { InvalidInput, UnreadableEvent } from '../../src/errors.js';
import { EXIT, exitCodeOf, formatError } from '../../src/cli/cliError.js';
import { recordedEvent } from '../support/events.js';

/**
 * A stored event that cannot be read was reported as bad input ("the value named above is the one
 * to fix; each command's --help lists its options", exit 2) to a user who had typed nothing wrong
 * (a new-user trial). It names the event, says the value is in the store, and exits 1.
 */
describe('an unreadable stored event', () => {
  const damaged = recordedEvent('ModelReplied', eventSchemas.ModelReplied.version, { callId: 'c', model: 'm', stopReason: 'end_turn', costUsd: 0, settles: true });

  it('is an UnreadableEvent naming the event and the field, still an InvalidInput for the readers that skip such events', () => {
    const err = (() => {
      try {
        parseRecorded(damaged);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UnreadableEvent);
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as Error).message).toMatch(/^stored event agent-\S+@\d+ cannot be read: data\.content: /);
  });

  it('says when a newer cadre wrote it', () => {
    const newer = recordedEvent('ModelReplied', eventSchemas.ModelReplied.version + 1, { callId: 'c' });
    expect(() => parseRecorded(newer)).toThrow(new RegExp(`ModelReplied v${eventSchemas.ModelReplied.version + 1}, written by a newer cadre`));
    expect(() => parseRecorded(recordedEvent('ModelAnswered', 1, {}))).toThrow(/cannot be read: type: unknown event type ModelAnswered/);
  });

  it('the CLI points at the store, not at the options, and exits 1', () => {
    const err = new UnreadableEvent('agent-a@3', 'data.content[0]', 'Invalid input');
    expect(exitCodeOf(err)).toBe(EXIT.failure);
    expect(formatError(err)).toContain('the value is in the store, not in what you typed');
    expect(formatError(err)).not.toContain('--help');
  });
});
