import { parseArgs, type ParseArgsConfig } from 'node:util';
import { describeError, OptionsError } from '../src/errors.js';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
type HelpOption = { help: { type: 'boolean'; short: 'h'; default: false } };
type BenchmarkConfig<T extends OptionsConfig> = { args: string[]; options: T & HelpOption; strict: true; allowPositionals: false };

/**
 * Parses a benchmark's command line: the given options plus -h/--help, no
 * positional arguments. Prints `usage` and exits 0 for --help. Throws an
 * OptionsError that ends with `usage` for an unknown or malformed option.
 */
export function parseBenchmarkArgs<T extends OptionsConfig>(argv: string[], options: T, usage: string): ReturnType<typeof parseArgs<BenchmarkConfig<T>>>['values'] {
  const config: BenchmarkConfig<T> = { args: argv, options: { ...options, help: { type: 'boolean', short: 'h', default: false } }, strict: true, allowPositionals: false };
  let parsed;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    throw new OptionsError(`${describeError(error)}\n${usage}`, { cause: error });
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    process.stdout.write(usage);
    process.exit(0);
  }
  return parsed.values;
}
