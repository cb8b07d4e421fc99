import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** benchmarks/RESULTS.md, which bench.ts and setups.ts both add their runs to. */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RESULTS_FILE = join(ROOT, 'benchmarks', 'RESULTS.md');
/** New runs are inserted right after this line, so the newest run comes first. */
const RUNS_MARKER = '<!-- Runs, newest first. bench.js and setups.js insert new runs below this line. -->';
const RESULTS_HEADER = `# Benchmark results

Figures from the benchmark scripts in benchmarks/ and from training/campaign.ts, each run with its command. How they are measured and how to read them: [README.md](README.md).
Compare figures within one run; runs on different days share a noisy machine.

${RUNS_MARKER}
`;

/** Inserts `section` below the runs marker of RESULTS.md, creating the file when it is missing. */
export function writeResults(section: string): void {
  const current = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : RESULTS_HEADER;
  const withMarker = current.includes(RUNS_MARKER) ? current : `${current.trimEnd()}\n\n${RUNS_MARKER}\n`;
  const at = withMarker.indexOf(RUNS_MARKER) + RUNS_MARKER.length;
  const rest = withMarker.slice(at).replace(/^\n+/, '');
  const updated = `${withMarker.slice(0, at)}\n\n${section}${rest ? `\n${rest}` : ''}`;
  // Written next to the target and renamed, so an interrupted run leaves the old file intact.
  const temporary = `${RESULTS_FILE}.tmp`;
  writeFileSync(temporary, updated);
  renameSync(temporary, RESULTS_FILE);
}
