#!/usr/bin/env node
// Builds examples/rescan-report.html, the example report that the README
// links to. It stages an outage: the gateway scored the sample quarantine
// with heuristics only, as when the model cannot be loaded, and wrote its
// verdict into an X-Spam-Status header. The rescan then re-scores the same
// messages with the shipped model, and the page shows both histograms.
//
//   npm run build && node examples/make-rescan-report.mjs
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createScorer, HEURISTICS_ONLY_THRESHOLDS } from 'spamward';

const examples = dirname(fileURLToPath(import.meta.url));
const work = await mkdtemp(join(tmpdir(), 'spamward-rescan-example-'));
try {
  const quarantine = join(work, 'quarantine');
  await mkdir(quarantine);
  const heuristicsOnly = await createScorer({ modelDir: null, store: null });
  for (const name of (await readdir(join(examples, 'quarantine'))).filter((file) => file.endsWith('.eml')).sort()) {
    const raw = await readFile(join(examples, 'quarantine', name));
    const { score, verdict } = await heuristicsOnly.score(raw);
    const header = `X-Spam-Status: ${verdict === 'spam' ? 'Yes' : 'No'}, score=${score} required=${HEURISTICS_ONLY_THRESHOLDS.spam}\n`;
    await writeFile(join(quarantine, name), Buffer.concat([Buffer.from(header), raw]));
  }
  await heuristicsOnly.close();
  const cli = join(examples, '..', 'dist', 'src', 'cli', 'main.js');
  // Run from the temporary folder, so the report names the messages quarantine/<file>.
  execFileSync(process.execPath, [cli, 'rescan', 'quarantine', '--report', 'report.jsonl', '--html', join(examples, 'rescan-report.html'), '--workers', '1'], { cwd: work, stdio: 'inherit' });
} finally {
  await rm(work, { recursive: true, force: true });
}
