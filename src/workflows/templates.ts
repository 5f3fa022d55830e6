import { z } from 'zod';
import { InvalidGraph, InvalidInput, NotFound } from '../errors.js';
import { parseInput } from '../validation.js';
import { graphProblems, WorkflowNodeSchema, type WorkflowGraph } from './graph.js';
import { knownRoles } from './roles.js';
import { withNodeDefaults } from './nodeDefaults.js';
import { nearestName } from '../nearestName.js';

/**
 * Workflow templates: named, reusable graphs stored as JSON. This module parses and holds
 * them (pure); templateLoader.ts reads the files.
 */
export const WorkflowTemplateSchema = z
  .object({
    id: z.string().min(1).max(64).regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lowercase letters, digits and "-"'),
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000).default(''),
    nodes: z.array(WorkflowNodeSchema).min(1).max(100),
  })
  .strict();

export interface WorkflowTemplate extends z.output<typeof WorkflowTemplateSchema> {
  /** Where it came from: the package's templates/ folder, or the user's. */
  readonly origin: 'builtin' | 'user';
  /** The file it was read from (for messages). */
  readonly file: string;
}

/**
 * Parses a template file's JSON value. A bad shape throws `InvalidInput` whose field names the
 * file and the path (`my.json: nodes[2].budgetPercent`); a bad graph throws `InvalidGraph` whose
 * problems name the file. Roles are not checked: a template's roles become known roles.
 *
 * @example
 * const t = parseTemplate(JSON.parse(text), 'templates/tdd-workflow.json', 'builtin');
 */
export function parseTemplate(raw: unknown, file: string, origin: 'builtin' | 'user'): WorkflowTemplate {
  let parsed: z.output<typeof WorkflowTemplateSchema>;
  try {
    parsed = parseInput(WorkflowTemplateSchema, withNodeDefaults(raw), '');
  } catch (err) {
    if (err instanceof InvalidInput) throw new InvalidInput(`${file}: ${err.field}`, err.reason, { cause: err });
    throw err;
  }
  const problems = graphProblems({ nodes: parsed.nodes }, undefined, `${file}: `);
  if (problems.length > 0) throw new InvalidGraph(problems);
  return { ...parsed, origin, file };
}

/** The graph a template runs. */
export const templateGraph = (t: WorkflowTemplate): WorkflowGraph => ({ nodes: t.nodes.map((n) => ({ ...n, dependencies: [...n.dependencies] })) });

/**
 * The loaded templates, by id. Immutable; build a new one to reload.
 *
 * @example
 * const registry = new TemplateRegistry([tdd, backend]);
 * registry.get('tdd-workflow').nodes.length; // 4
 * registry.roles();                          // built-in roles plus those the templates use
 */
export class TemplateRegistry {
  private readonly byId: ReadonlyMap<string, WorkflowTemplate>;

  /** Later templates with the same id replace earlier ones (user templates come last). */
  constructor(templates: readonly WorkflowTemplate[] = []) {
    const m = new Map<string, WorkflowTemplate>();
    // Ids match case-insensitively: the seed writes `TDD-workflow` for `tdd-workflow`.
    for (const t of templates) m.set(t.id.toLowerCase(), t);
    this.byId = m;
  }

  list(): WorkflowTemplate[] {
    return [...this.byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  find(id: string): WorkflowTemplate | undefined {
    return this.byId.get(id.toLowerCase());
  }

  /** @throws NotFound when no template has this id (in any case). */
  get(id: string): WorkflowTemplate {
    const t = this.find(id);
    if (!t) throw new NotFound('workflow template', id, nearestName(id, this.list().map((x) => x.id)));
    return t;
  }

  /** Roles a graph may use: the built-in ones plus every role a loaded template uses. */
  roles(): string[] {
    // Worked out once: the registry never changes, and every spawnWorkflow asks (sorting the
    // templates by localeCompare each time was ~0.03 ms of a 4-node workflow run, .prof/wfd.mjs --cpu-prof).
    return [...(this.roleList ??= knownRoles(this.list()))];
  }
  private roleList: readonly string[] | undefined;
}
