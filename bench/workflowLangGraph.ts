import { randomUUID } from 'node:crypto';
import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import { WORKFLOW_ROLES, workflowTask, type FakeModel } from './workflowModel.js';
import type { WorkflowSide } from './workflowSide.js';

/** The task, each node's output, and the tokens spent: what cadre's workflow records too. */
const State = Annotation.Root({
  task: Annotation<string>(),
  outputs: Annotation<Record<string, string>>({ reducer: (a, b) => ({ ...a, ...b }), default: () => ({}) }),
  inputTokens: Annotation<number>({ reducer: (a, b) => a + b, default: () => 0 }),
  outputTokens: Annotation<number>({ reducer: (a, b) => a + b, default: () => 0 }),
});

/**
 * LangGraph JS with its Postgres checkpointer, as its docs set it up: a StateGraph of the four
 * roles in a chain, each node one call of the same fake model, `PostgresSaver` (default pool,
 * default durability), a new thread per run.
 */
export async function langGraphSide(url: string, model: FakeModel): Promise<WorkflowSide> {
  const saver = PostgresSaver.fromConnString(url);
  await saver.setup();
  const node = (role: string) => async (): Promise<Partial<typeof State.State>> => {
    const r = await model.call(role);
    return { outputs: { [role]: r.text }, inputTokens: r.input, outputTokens: r.output };
  };
  const [architect, tester, implementer, reviewer] = WORKFLOW_ROLES;
  const graph = new StateGraph(State)
    .addNode(architect, node(architect))
    .addNode(tester, node(tester))
    .addNode(implementer, node(implementer))
    .addNode(reviewer, node(reviewer))
    .addEdge(START, architect)
    .addEdge(architect, tester)
    .addEdge(tester, implementer)
    .addEdge(implementer, reviewer)
    .addEdge(reviewer, END)
    .compile({ checkpointer: saver });
  let runs = 0;
  return {
    name: 'LangGraph',
    dbName: new URL(url).pathname.slice(1),
    eventsTable: null,
    get calls() {
      return model.calls;
    },
    async run() {
      // invoke resolves after every checkpoint write of the run has finished.
      const out = await graph.invoke({ task: workflowTask(++runs) }, { configurable: { thread_id: randomUUID() } });
      if (Object.keys(out.outputs).length !== WORKFLOW_ROLES.length) throw new Error('LangGraph run did not reach every node');
    },
    settle: async () => 0,
    close: () => saver.end(),
  };
}
