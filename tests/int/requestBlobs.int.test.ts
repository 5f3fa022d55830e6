import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ModelReply, ModelRequest } from '../../src/actors/ports/modelProvider.js';
import { tool } from '../../src/actors/userTool.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import { createBlobStore } from '../../src/infra/postgres/runtimeTables.js';
import { testSystem, type StoreKind } from '../support/system.js';
import { plausibleUsage } from '../support/plausibleUsage.js';

/**
 * A model request is stored in parts (blobParts.ts): what earlier turns stored is named, not
 * stored again. Read back from the table (a blob store with nothing cached), every request is
 * exactly what the model was sent, and each tool output is stored once however many turns
 * carry it.
 */
const TURNS = 6;
const reply = (content: ModelReply['content'], request: ModelRequest): ModelReply => ({ model: 'scripted', content, stopReason: 'tool_use', usage: plausibleUsage(request) });
const page = (n: number): string => `page ${n}\n` + Array.from({ length: 400 }, (_, i) => `line ${i} of page ${n}`).join('\n');

describe.each<StoreKind>(['pglite', 'postgres'])('model requests stored in parts (%s)', (kind) => {
  it('read back exactly as sent, each tool output stored once, in far fewer bytes than whole requests', { timeout: 60_000 }, async () => {
    const sent: ModelRequest[] = [];
    const model = createScriptedProvider((r) => {
      sent.push(structuredClone(r));
      const n = sent.length;
      if (n > TURNS) return reply([{ type: 'tool_use', id: 'fin', name: 'finish', input: { output: 'read them all' } }], r);
      return reply([{ type: 'text', text: `Reading page ${n}, after ${'thinking '.repeat(40)}` }, { type: 'tool_use', id: `read${n}`, name: 'read_page', input: { n } }], r);
    });
    const readPage = tool({ name: 'read_page', description: 'Reads a page.', input: z.object({ n: z.number() }), run: ({ n }) => page(n) });
    const system = await testSystem(kind, { model, tools: [readPage] });
    try {
      const agent = await system.spawn({ role: 'reader', task: `Read the pages. ${'Carefully. '.repeat(40)}`, budget: 1_000_000 });
      expect((await agent.run()).status).toBe('completed');
      const refs = (await system.history(agent.id)).flatMap((e) => (e.type === 'ModelRequested' ? [(e.data as { requestRef: string }).requestRef] : []));
      expect(refs).toHaveLength(TURNS + 1);

      const fromTable = createBlobStore(system.internal.sql, system.schema);
      // As the provider is sent it: who asks (`agent`, never sent to an API) is the agent's own record.
      for (const [i, ref] of refs.entries()) {
        const { agent, ...asSent } = sent[i]!;
        expect(agent?.role).toBe('reader'); // the provider was given it, rebuilt from the agent
        expect(await fromTable.get(ref), `request ${i}`).toEqual(asSent);
      }

      const rows = (await system.internal.sql.query<{ content: unknown; bytes: number }>(`SELECT content, bytes FROM ${system.schema}.blobs`)).rows;
      for (let n = 1; n <= TURNS; n++) expect(rows.filter((r) => r.content === page(n)), `page ${n}`).toHaveLength(1);
      const stored = rows.reduce((sum, r) => sum + r.bytes, 0);
      const whole = sent.reduce((sum, r) => sum + JSON.stringify(r).length, 0);
      // Whole, the last request alone holds every page; in parts the table holds each once.
      expect(stored).toBeLessThan(whole / 2.5);
    } finally {
      await system.close();
    }
  });

  it('a part an append stored in its commit is not sent again with later turns; one staged for an append not (yet) stored is', async () => {
    const system = await testSystem(kind, {});
    try {
      const blobs = createBlobStore(system.internal.sql, system.schema);
      const request = (turn: number): ModelRequest => ({ system: 's', messages: [{ role: 'user', content: [{ type: 'text', text: `turn ${turn}` }] }], tools: [{ name: 'finish', description: 'Finish.', inputSchema: { type: 'object' } }], maxTokens: 100 });
      const first = blobs.stage(request(0));
      expect(first.parts).toHaveLength(1);
      // The append carrying it has not committed: the next turn still carries the part.
      expect(blobs.stage(request(1)).parts).toEqual(first.parts);
      blobs.stored([...first.parts!, first]);
      expect(blobs.stage(request(2)).parts).toBeUndefined();
    } finally {
      await system.close();
    }
  });
});
