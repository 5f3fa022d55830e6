/** Live events: watch a team's events as they are recorded; the loop ends when the whole team has ended. */
import type { AgentSystem, HistoryEvent } from 'cadre';
import { runIfMain, useSystem } from './withSystem.js';

export async function main(given?: AgentSystem) {
  return useSystem(given, async (system) => {
    const lead = await system.spawn({ role: 'lead', task: 'Ship a login page', budget: 60_000 });
    await lead.spawn({ role: 'frontend', task: 'Build the form', budget: 20_000 });

    // Started before run(): it sees every event of the lead and its children, in order.
    const seen: HistoryEvent[] = [];
    const watching = (async () => {
      for await (const e of lead.events({ subtree: true })) {
        seen.push(e);
        // Typed by `type`: each event's data has its own fields.
        if (e.type === 'ChildSpawned') console.log(`spawned ${e.data.role} ${e.data.childId}`);
        if (e.type === 'ModelReplied') console.log(`${e.streamId} replied (${e.data.usage.outputTokens} tokens out)`);
        if (e.type === 'AgentCompleted') console.log(`${e.streamId} completed`);
      }
    })();

    const result = await lead.run();
    await watching; // returns by itself: the lead and its child have ended

    // The same events history() returns, merged in global position order.
    const children = (await lead.state()).children.map((c) => system.get(c.id));
    const histories = (await Promise.all([lead, ...children].map((h) => h.history()))).flat().sort((a, b) => a.position - b.position);
    return {
      status: result.status,
      events: seen.length,
      agentsSeen: new Set(seen.map((e) => e.streamId)).size,
      sameAsHistory: JSON.stringify(seen) === JSON.stringify(histories),
    };
  });
}

runIfMain(import.meta, main);
