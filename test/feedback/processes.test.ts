import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openFeedbackStore } from '../../src/feedback/index.js';

const REPOSITORY = fileURLToPath(new URL('../..', import.meta.url));
const TSC = path.join(REPOSITORY, 'node_modules', 'typescript', 'bin', 'tsc');
/** Maximum wait for the compiler and for each child, after which the test fails. */
const CHILD_TIMEOUT_MS = 60_000;
const REPORTS_PER_CHILD = 150;

let root: string;
let compiled: string;

/** Runs a command and resolves with its output; rejects on a non-zero exit or after CHILD_TIMEOUT_MS. */
function runChild(args: string[], onStdout?: (text: string) => void): { done: Promise<string>; stdin: NodeJS.WritableStream } {
  const child = spawn(process.execPath, args, { cwd: REPOSITORY, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    onStdout?.(stdout);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not finish within ${CHILD_TIMEOUT_MS} ms. stderr: ${stderr}`));
    }, CHILD_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${args.join(' ')} exited with ${code}. stdout: ${stdout} stderr: ${stderr}`));
    });
  });
  return { done, stdin: child.stdin };
}

// The children run the store compiled to JavaScript, because Node 20 cannot run the TypeScript sources.
// --noCheck only emits, so type errors elsewhere in the tree do not fail this test; tsc -p checks them.
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'spamward-feedback-processes-'));
  compiled = path.join(root, 'compiled');
  const compile = runChild([
    TSC,
    '--outDir', compiled,
    '--rootDir', path.join(REPOSITORY, 'src'),
    '--module', 'NodeNext',
    '--moduleResolution', 'NodeNext',
    '--target', 'ES2022',
    '--types', 'node',
    '--skipLibCheck',
    '--noCheck',
    path.join(REPOSITORY, 'src', 'feedback', 'index.ts'),
  ]);
  compile.stdin.end();
  await compile.done;
  await writeFile(path.join(compiled, 'package.json'), '{"type":"module"}\n');
}, CHILD_TIMEOUT_MS);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A child that opens the store, prints "ready", waits for a line on stdin and then adds its reports. */
const CHILD_SCRIPT = `
import { openFeedbackStore } from './compiled/feedback/index.js';
const [dir, name, count] = process.argv.slice(2);
const store = await openFeedbackStore(dir);
process.stdout.write('ready\\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
for (let i = 0; i < Number(count); i += 1) {
  // Every third message is shared by both children, so both append reports of the same digest.
  const shared = i % 3 === 0;
  const raw = Buffer.from(\`From: \${shared ? 'shared' : name}\${i}@example.com\\r\\nSubject: \${i}\\r\\n\\r\\nBody \${i}\\r\\n\`);
  await store.add(raw, name === 'a' ? 'spam' : 'ham', { reporter: name, reason: 'x'.repeat(300) });
}
process.stdin.destroy();
`;

it('keeps lines whole across two processes', async () => {
  const dir = path.join(root, 'feedback');
  const script = path.join(root, 'child.mjs');
  await writeFile(script, CHILD_SCRIPT);

  let ready = 0;
  const children: ReturnType<typeof runChild>[] = [];
  const allReady = new Promise<void>((resolve) => {
    for (const name of ['a', 'b']) {
      children.push(
        runChild([script, dir, name, String(REPORTS_PER_CHILD)], (text) => {
          if (text === 'ready\n') {
            ready += 1;
            if (ready === 2) resolve();
          }
        }),
      );
    }
  });
  await Promise.race([allReady, ...children.map((child) => child.done)]);
  for (const child of children) child.stdin.write('go\n');
  await Promise.all(children.map((child) => child.done));

  const lines = (await readFile(path.join(dir, 'index.jsonl'), 'utf8')).split('\n');
  expect(lines.pop()).toBe('');
  expect(lines).toHaveLength(2 * REPORTS_PER_CHILD);
  for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
  // The children must have appended at the same time, or this test proves nothing about interleaving.
  const reporters = lines.map((line) => (JSON.parse(line) as { reporter: string }).reporter);
  const switches = reporters.filter((reporter, i) => i > 0 && reporter !== reporters[i - 1]).length;
  expect(switches).toBeGreaterThanOrEqual(2);

  const warnings: string[] = [];
  const store = await openFeedbackStore(dir, { logger: { warn: (text) => warnings.push(text) } });
  const entries = await store.list();
  const shared = Math.ceil(REPORTS_PER_CHILD / 3);
  expect(entries).toHaveLength(2 * REPORTS_PER_CHILD - shared);
  expect(entries.filter((entry) => entry.reports === 2)).toHaveLength(shared);
  expect(entries.every((entry) => entry.status === 'ok')).toBe(true);
  expect(warnings).toEqual([]);
}, 2 * CHILD_TIMEOUT_MS);
