import type { Command } from 'commander';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError, EXIT } from '../cliError.js';
import { print, withSystem, type CliContext } from '../context.js';
import { optionalExtension, type TemplateSummary } from '../extensions.js';
import { renderTable } from '../render/table.js';
import { templateStages } from '../render/templateStages.js';

/** The package's templates/ folder (src/cli/commands → ../../../templates, also from dist/; dist/bundle → ../../templates). */
function builtInTemplates(): TemplateSummary[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const dir = [join(here, '../../../templates'), join(here, '../../../../templates'), join(here, '../../templates')].find((d) => existsSync(d));
  if (!dir) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort().flatMap((f) => {
    try {
      const t = JSON.parse(readFileSync(join(dir, f), 'utf8')) as TemplateSummary;
      return [{ ...t, id: t.id ?? f.replace(/\.json$/, '') }];
    } catch {
      return [];
    }
  });
}

export function registerTemplates(program: Command, ctx: CliContext): void {
  const templates = program.command('templates').description('list and show workflow templates');
  const load = async (): Promise<readonly TemplateSummary[]> =>
    withSystem(ctx, { recover: false, readOnly: true }, async (system) => {
      const wf = optionalExtension(system, 'workflows');
      return wf ? await wf.templates.list() : builtInTemplates();
    });
  templates
    .command('list')
    .description('every template: built-ins and the ones in your templates folder')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  cadre templates list')
    .action(async (opts: { json?: boolean }) => {
      const list = await load();
      print(ctx, opts.json, list, () => (list.length === 0 ? 'no templates found' : renderTable(list, [
        { header: 'ID', value: (t) => t.id },
        { header: 'NODES', value: (t) => templateStages(t.nodes ?? []) },
        { header: 'DESCRIPTION', value: (t) => t.description ?? t.name ?? '' },
      ])));
    });
  templates
    .command('show')
    .argument('<id>', 'template id, e.g. tdd-workflow')
    .description("a template's nodes, roles, budget shares and dependencies")
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  cadre templates show tdd-workflow')
    .action(async (id: string, opts: { json?: boolean }) => {
      const t = (await load()).find((x) => x.id.toLowerCase() === id.toLowerCase());
      if (!t) throw new CliError(`template ${id} not found`, { exitCode: EXIT.notFound, hint: 'see `cadre templates list`' });
      print(ctx, opts.json, t, () => `${t.id}${t.description ? ` — ${t.description}` : ''}\n\n${renderTable(t.nodes ?? [], [
        { header: 'NODE', value: (n) => n.id },
        { header: 'ROLE', value: (n) => n.role },
        { header: 'BUDGET %', value: (n) => n.budgetPercent ?? null, align: 'right' },
        { header: 'AFTER', value: (n) => n.dependencies?.join(', ') || '-' },
      ])}`);
    });
}
