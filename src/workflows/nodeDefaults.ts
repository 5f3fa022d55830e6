/**
 * The seed's template shape — `{ role, budgetPercent, dependencies: ['architect'] }`, no node id
 * and no task — made into cadre's before it is parsed: a node without an `id` takes its role as
 * its id (so dependencies written as roles name it), and a node without a `task` is asked to do
 * its role's part of the workflow's task. Anything else is left for the schema to judge.
 *
 * @example
 * withNodeDefaults({ nodes: [{ role: 'tester', budgetPercent: 25, dependencies: ['architect'] }] })
 * // { nodes: [{ id: 'tester', task: "Do the tester's part of the workflow's task.", role: 'tester', ... }] }
 */
export function withNodeDefaults(input: unknown): unknown {
  if (!isRecord(input) || !Array.isArray(input.nodes)) return input;
  const nodes = input.nodes.map((n: unknown) => {
    if (!isRecord(n) || typeof n.role !== 'string') return n;
    const role = n.role.trim();
    return { ...('id' in n ? {} : { id: role }), ...('task' in n ? {} : { task: `Do the ${role}'s part of the workflow's task.` }), ...n };
  });
  return { ...input, nodes };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
