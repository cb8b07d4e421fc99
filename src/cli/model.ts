/**
 * `spamward model`: lists, shows, adds, promotes and rolls back the model
 * versions of a registry folder. Results go to stdout; errors go to stderr
 * with exit status 1.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { describeError } from '../errors.js';
import type { ModelRegistry, RegistryEntry, RegistryEntryDetail, SwitchResult } from '../model/registry.js';
import { escapeControlCharacters } from './format.js';
import { EXIT_FAILED, EXIT_OK, type CliIo } from './io.js';
import { parsePathOnce } from './options.js';

/** Environment variable that sets the default of --registry. */
export const REGISTRY_ENV = 'SPAMWARD_REGISTRY';
const MODEL_FORMATS = ['table', 'json'] as const;
type ModelFormat = (typeof MODEL_FORMATS)[number];

const MODEL_HELP = `
Registry:
  A registry is a folder. Each subfolder with a manifest.json is a model
  version, named by the folder; the package ships "default". active.json in
  the registry names the active version, which scorers without --model load
  and follow; without active.json it is "default". Every change is appended
  to registry-log.jsonl.

  --registry DIR selects the registry; its default is $${REGISTRY_ENV}, or
  the models/ folder of the installed package. Point both the gateway (the
  scorer's \`registry\` option) and this command at the same folder, such as
  /var/lib/spamward/models.

Exit status:
  0    done
  1    the registry, a version or a model could not be read, or the change
       was rejected (nothing was changed)
  2    invalid command line

Examples:
  spamward model list
  spamward model add ./trained --registry /var/lib/spamward/models
  spamward model promote 2027.01.15 --reason "retrained on December feedback"
  spamward model rollback --reason "false positives on newsletters"`;

interface RegistryFlags {
  registry?: string;
}

function parseReason(value: string, previous: string | undefined): string {
  if (previous !== undefined) throw new InvalidArgumentError('The option was given more than once.');
  if (value.trim() === '') throw new InvalidArgumentError('Expected a short text saying why.');
  return value;
}

function registryOption(): Option {
  return new Option('--registry <dir>', `model registry folder (default: $${REGISTRY_ENV}, or the models/ folder of the package)`).argParser(parsePathOnce);
}

function formatOption(): Option {
  return new Option('-f, --format <format>', 'output format').choices(MODEL_FORMATS).default('table');
}

async function openFor(flags: RegistryFlags): Promise<ModelRegistry> {
  // Loaded here so help and usage errors do not read model files.
  const { openRegistry } = await import('../model/registry.js');
  const dir = flags.registry ?? process.env[REGISTRY_ENV];
  return openRegistry(dir === undefined || dir === '' ? undefined : dir);
}

/** Formats an ISO time as `YYYY-MM-DD HH:MM` UTC, or returns the text unchanged when it is not one. */
function shortTime(iso: string | null): string {
  if (iso === null) return '-';
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return match ? `${match[1]} ${match[2]}` : escapeControlCharacters(iso);
}

function formatAuc(entry: RegistryEntry): string {
  const auc = entry.headline?.auc;
  return typeof auc === 'number' ? auc.toFixed(4) : '-';
}

function alignColumns(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  const lines = rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ').trimEnd());
  return `${lines.join('\n')}\n`;
}

function listTable(entries: RegistryEntry[]): string {
  const rows = [['VERSION', 'ACTIVE', 'CREATED', 'PARENT', 'AUC', 'MODEL', 'STATUS']];
  for (const entry of entries) {
    rows.push([
      entry.version,
      entry.active ? '*' : '',
      shortTime(entry.createdAt),
      entry.parent === null ? '-' : escapeControlCharacters(entry.parent),
      formatAuc(entry),
      entry.modelVersion === null ? '-' : escapeControlCharacters(entry.modelVersion),
      entry.error === null ? 'ok' : 'broken',
    ]);
  }
  let text = alignColumns(rows);
  for (const entry of entries) {
    if (entry.error !== null) text += `${entry.version}: ${escapeControlCharacters(entry.error)}\n`;
  }
  return text;
}

function showText(detail: RegistryEntryDetail): string {
  const headline = detail.headline;
  const lines = [
    `version:   ${detail.version}${detail.active ? ' (active)' : ''}`,
    `folder:    ${escapeControlCharacters(detail.dir)}`,
    `model:     ${detail.modelVersion === null ? '-' : escapeControlCharacters(detail.modelVersion)}`,
    `created:   ${detail.createdAt === null ? '-' : escapeControlCharacters(detail.createdAt)}`,
    `parent:    ${detail.parent === null ? '-' : escapeControlCharacters(detail.parent)}`,
    `status:    ${detail.error === null ? 'ok' : `broken: ${escapeControlCharacters(detail.error)}`}`,
  ];
  if (headline) {
    const rate = (value: number | null): string => (value === null ? '-' : value.toFixed(4));
    lines.push(`${headline.set} test split: AUC ${rate(headline.auc)}, FPR ${rate(headline.fpr)}, FNR ${rate(headline.fnr)} (${headline.messages} messages)`);
  }
  const sets = detail.manifest?.training?.sets;
  if (Array.isArray(sets)) lines.push(`training sets: ${sets.map((set) => escapeControlCharacters(String(set?.name))).join(', ')}`);
  const data = detail.manifest?.data;
  if (data) lines.push(`feedback sha256: ${data.feedback === null ? 'none' : escapeControlCharacters(String(data.feedback))}`);
  return `${lines.join('\n')}\n`;
}

function switchText(result: SwitchResult, verb: string): string {
  if (!result.changed) return `Model version ${result.to} is already active; nothing changed.\n`;
  const forced = result.pointer.forced ? ' (forced past the metrics check)' : '';
  return `${verb} model version ${result.to}${forced}; it was ${result.from}. Scorers that follow the registry switch at their next check.\n`;
}

/** Runs one subcommand, printing its error and setting status 1 when it throws. */
async function runAction(io: CliIo, setExitCode: (code: number) => void, action: () => Promise<string>): Promise<void> {
  try {
    io.stdout.write(await action());
    setExitCode(EXIT_OK);
  } catch (error) {
    io.stderr.write(`spamward: ${escapeControlCharacters(describeError(error))}\n`);
    setExitCode(EXIT_FAILED);
  }
}

/** Adds `spamward model` and its subcommands to `program`. */
export function addModelCommand(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  const model = program
    .command('model')
    .description('List, inspect, add, promote and roll back model versions in a registry.')
    .addHelpText('after', MODEL_HELP)
    .showHelpAfterError('Run "spamward help model" for the subcommands.');

  model
    .command('list')
    .description('List the versions with their creation time, parent and SpamAssassin test AUC; * marks the active one.')
    .addOption(registryOption())
    .addOption(formatOption())
    .action(async (flags: RegistryFlags & { format: ModelFormat }) => {
      await runAction(io, setExitCode, async () => {
        const entries = await (await openFor(flags)).list();
        return flags.format === 'json' ? `${JSON.stringify(entries, null, 2)}\n` : listTable(entries);
      });
    });

  model
    .command('show')
    .description('Show one version: manifest summary, headline metrics, and why it does not load if it does not.')
    .argument('<version>', 'version name (a folder in the registry)')
    .addOption(registryOption())
    .addOption(formatOption())
    .action(async (version: string, flags: RegistryFlags & { format: ModelFormat }) => {
      await runAction(io, setExitCode, async () => {
        const detail = await (await openFor(flags)).show(version);
        return flags.format === 'json' ? `${JSON.stringify(detail, null, 2)}\n` : showText(detail);
      });
    });

  model
    .command('add')
    .description('Copy a trained model folder into the registry as a new version, without making it active.')
    .argument('<dir>', 'model folder holding manifest.json, model.json, weights.bin and tokens.json')
    .option('--as <version>', "version name (default: the manifest's version)")
    .addOption(registryOption())
    .action(async (dir: string, flags: RegistryFlags & { as?: string }) => {
      await runAction(io, setExitCode, async () => {
        const entry = await (await openFor(flags)).addModel(dir, flags.as === undefined ? {} : { version: flags.as });
        const registry = flags.registry === undefined ? '' : ` --registry ${JSON.stringify(flags.registry)}`;
        return `Added model version ${entry.version}. Promote it with: spamward model promote ${entry.version}${registry}\n`;
      });
    });

  model
    .command('promote')
    .description('Make a version active after loading and checking it.')
    .addHelpText('after', `
A version that does not load (corrupt files, another feature schema) is
rejected. Without --force, so is a version whose SpamAssassin test AUC is
missing or lower than the active version's. The previous version is kept in
active.json for rollback.`)
    .argument('<version>', 'version name (a folder in the registry)')
    .option('--reason <text>', 'why, recorded in active.json and registry-log.jsonl', parseReason)
    .option('--force', 'promote even when the AUC is lower or missing (a model that does not load is still rejected)')
    .addOption(registryOption())
    .action(async (version: string, flags: RegistryFlags & { reason?: string; force?: boolean }) => {
      await runAction(io, setExitCode, async () => {
        const result = await (await openFor(flags)).promote(version, {
          ...(flags.reason === undefined ? {} : { reason: flags.reason }),
          force: flags.force === true,
        });
        return switchText(result, 'Promoted');
      });
    });

  model
    .command('rollback')
    .description('Make the previously active version active again, after loading it.')
    .option('--reason <text>', 'why, recorded in active.json and registry-log.jsonl', parseReason)
    .addOption(registryOption())
    .action(async (flags: RegistryFlags & { reason?: string }) => {
      await runAction(io, setExitCode, async () => {
        const result = await (await openFor(flags)).rollback(flags.reason === undefined ? {} : { reason: flags.reason });
        return switchText(result, 'Rolled back to');
      });
    });
}
