import type { Command } from 'commander';
import { CliError, EXIT } from '../cliError.js';
import { print, type CliContext } from '../context.js';
import { renderTable } from '../render/table.js';
import type { WorkflowTemplate } from '../../workflows/templates.js';
import { templateStages } from '../render/templateStages.js';
import { resolve } from 'node:path';

export function registerTemplates(program: Command, ctx: CliContext): void {
  const templates = program.command('templates').description('list and show workflow templates');
  // Templates are files, not stored: read the folders the system would (the built-ins and
  // CADRE_TEMPLATES_DIR) without opening a store, so this works before there is one and takes no
  // PGlite start. Loaded here, not at start: the loader brings zod, which --help never needs.
  const load = async (): Promise<readonly WorkflowTemplate[]> => {
    const [{ readEnv }, { listTemplates }] = await Promise.all([import('../../infra/config.js'), import('../../workflows/templateLoader.js')]);
    const dir = readEnv().CADRE_TEMPLATES_DIR;
    return listTemplates({ userDir: resolve(dir ?? '.cadre/templates'), ...(dir ? { userDirSetting: 'CADRE_TEMPLATES_DIR' } : {}) });
  };
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
