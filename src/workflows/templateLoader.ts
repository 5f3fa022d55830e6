import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, InvalidInput } from '../errors.js';
import type { Logger } from '../actors/ports/runtimePorts.js';
import { parseTemplate, TemplateRegistry, type WorkflowTemplate } from './templates.js';

/** The package's own templates/ folder (next to src/ and dist/). */
export const builtinTemplatesDir = (): string => fileURLToPath(new URL('../../templates/', import.meta.url));

export interface LoadTemplatesOptions {
  /** Built-in templates; default: the package's templates/ folder. */
  readonly builtinDir?: string;
  /** The user's templates (from the configuration); a missing folder holds none. A user template replaces a built-in one with the same id. */
  readonly userDir?: string | null;
  /**
   * The setting that named `userDir` (`CADRE_TEMPLATES_DIR`, `templatesDir`): then a missing
   * folder is an error naming it, not an empty list (a typo there hid every template of it).
   * Without it, the default folder may be absent.
   */
  readonly userDirSetting?: string;
  readonly logger?: Logger;
}

/**
 * Reads every `*.json` file of the built-in and user folders into a registry. Any bad file
 * refuses the whole load with an error naming the file and the field.
 *
 * @example
 * const templates = await loadTemplates({ userDir: '.cadre/templates' });
 * templates.list().map((t) => t.id); // ['backend-dev-workflow', 'bugfix-workflow', ...]
 */
export async function loadTemplates(options: LoadTemplatesOptions = {}): Promise<TemplateRegistry> {
  const builtin = await readFolder(options.builtinDir ?? builtinTemplatesDir(), 'builtin', undefined);
  const user = options.userDir ? await readFolder(options.userDir, 'user', options.userDirSetting ?? null) : [];
  for (const t of user) {
    if (builtin.some((b) => b.id === t.id)) options.logger?.info({ templateId: t.id, file: t.file }, 'user template replaces the built-in one');
  }
  return new TemplateRegistry([...builtin, ...user]);
}

/** The templates as `cadre templates list` shows them. */
export async function listTemplates(options: LoadTemplatesOptions = {}): Promise<WorkflowTemplate[]> {
  return (await loadTemplates(options)).list();
}

/** One template (`cadre templates show <id>`); throws NotFound for an unknown id. */
export async function getTemplate(id: string, options: LoadTemplatesOptions = {}): Promise<WorkflowTemplate> {
  return (await loadTemplates(options)).get(id);
}

/** `setting`: null, a missing folder is no templates; a name, it is refused naming that; undefined, it is refused. */
async function readFolder(dir: string, origin: 'builtin' | 'user', setting: string | null | undefined): Promise<WorkflowTemplate[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    if (missing && setting === null) return [];
    if (missing && setting) throw new ConfigError(setting, `no templates folder ${JSON.stringify(dir)}`);
    throw new InvalidInput(`templates folder ${dir}`, (err as Error).message, { cause: err });
  }
  const out: WorkflowTemplate[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const shown = relative(process.cwd(), path) || path;
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(path, 'utf8'));
    } catch (err) {
      throw new InvalidInput(shown, `not a readable JSON file: ${(err as Error).message}`, { cause: err });
    }
    const t = parseTemplate(raw, shown, origin);
    const twin = out.find((o) => o.id === t.id);
    if (twin) throw new InvalidInput(`${shown}: id`, `template id "${t.id}" is also used by ${twin.file}`);
    out.push(t);
  }
  return out;
}
