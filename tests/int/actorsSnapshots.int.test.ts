import { afterAll, describe, expect, it } from 'vitest';
import type { AgentSystem } from '../../src/system.js';
import { AGENT_MACHINE_VERSION } from '../../src/actors/agentMachine.js';
import { testSystem } from '../support/system.js';
import { freshSchema } from '../support/testDb.js';

/** Snapshots only shorten recovery: one from another machine version is ignored (fold from 0). */
describe('recovery with snapshots', () => {
  const systems: AgentSystem[] = [];
  afterAll(async () => {
    for (const s of systems) await s.close();
  });
  const open = async (schema: string): Promise<AgentSystem> => {
    const s = await testSystem('postgres', { schema, snapshotEvery: 2 });
    systems.push(s);
    return s;
  };

  it('uses a snapshot of the current machine version and ignores one of another version', async () => {
    const schema = freshSchema('snap');
    const first = await open(schema);
    const lead = await first.spawn({ role: 'lead', task: 'x', budget: 10_000 });
    for (let i = 0; i < 3; i++) await lead.spawn({ role: `w${i}`, task: 'y', budget: 1_000 });
    const truth = await lead.state();
    await first.close();

    const stream = `agent-${lead.id}`;
    const probe = await open(schema);
    const snap = await probe.internal.sql.query<{ revision: string; machine_version: number; state: { value: unknown; context: Record<string, unknown> } }>(
      `SELECT revision::text AS revision, machine_version, state FROM ${schema}.snapshots WHERE stream_id = $1`, [stream]);
    expect(snap.rows[0]?.machine_version).toBe(AGENT_MACHINE_VERSION);
    expect(await probe.get(lead.id).state()).toEqual(truth);
    const saved = snap.rows[0]!;
    await probe.close();

    // A tampered snapshot of the current version is believed: proof that recovery reads snapshots.
    const tampered = { ...saved.state, context: { ...saved.state.context, role: 'from-snapshot' } };
    const write = async (version: number): Promise<void> => {
      const s = await testSystem('postgres', { schema, recover: false });
      await s.internal.sql.query(`UPDATE ${schema}.snapshots SET machine_version = $2, state = $3::jsonb, revision = $4 WHERE stream_id = $1`, [stream, version, JSON.stringify(tampered), truth.revision.toString()]);
      await s.close();
    };
    await write(AGENT_MACHINE_VERSION);
    const believing = await open(schema);
    expect((await believing.get(lead.id).state()).role).toBe('from-snapshot');
    await believing.close();

    // The same snapshot marked as written by another machine version is ignored: fold from 0.
    await write(AGENT_MACHINE_VERSION + 1);
    const ignoring = await open(schema);
    expect(await ignoring.get(lead.id).state()).toEqual(truth);
    expect(await ignoring.replay(lead.id)).toEqual(truth);
  });
});
