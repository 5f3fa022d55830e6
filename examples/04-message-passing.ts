/**
 * Message passing: one agent sends a durable message, another receives it (highest priority
 * first) and acknowledges it.
 */
import type { AgentSystem } from 'cadre';
import { runIfMain, useSystem } from './withSystem.js';

export async function main(given?: AgentSystem) {
  return useSystem(given, async (system) => {
    const lead = await system.spawn({ role: 'lead', task: 'Coordinate', budget: 20_000 });
    const worker = await lead.spawn({ role: 'worker', task: 'Wait for instructions', budget: 5_000 });
    await lead.sendMessage(worker.id, { text: 'low priority note' }, { priority: 1 });
    await lead.sendMessage(worker.id, { text: 'urgent: start now' }, { priority: 9 });
    const received = (await worker.receiveMessages({ max: 10 })) as Array<{ messageId: string; payload: unknown }>;
    await worker.ack(received.map((m) => m.messageId));
    return { received: received.map((m) => m.payload) };
  });
}

runIfMain(import.meta, main);
