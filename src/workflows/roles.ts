/**
 * The roles a workflow node may name. Built-in roles are always known; loaded templates add the
 * roles their nodes use, so a user template can introduce `security-auditor` and a graph may
 * then use it too. Pure data.
 */
export const BUILTIN_ROLES = ['architect', 'implementer', 'tester', 'reviewer', 'researcher', 'writer', 'coordinator'] as const;

/**
 * The set of known roles, sorted, built-ins first.
 *
 * @example
 * knownRoles([{ nodes: [{ role: 'security-auditor' }] }]);
 * // ['architect', ..., 'coordinator', 'security-auditor']
 */
export function knownRoles(templates: ReadonlyArray<{ readonly nodes: ReadonlyArray<{ readonly role: string }> }> = []): string[] {
  const extra = new Set<string>();
  for (const t of templates) for (const n of t.nodes) if (!(BUILTIN_ROLES as readonly string[]).includes(n.role)) extra.add(n.role);
  return [...BUILTIN_ROLES, ...[...extra].sort()];
}
