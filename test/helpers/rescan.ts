import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { RescanRow } from '../../src/rescan/index.js';

/** Reads the rows of a JSONL rescan report. */
export async function readRows(file: string): Promise<RescanRow[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as RescanRow);
}

/** Counts the complete lines of a file, or 0 while it does not exist. */
export async function lineCount(file: string): Promise<number> {
  try {
    return (await readFile(file, 'utf8')).split('\n').length - 1;
  } catch {
    return 0;
  }
}

/**
 * Runs `node ARGS` and kills it with SIGKILL as soon as `report` has `rows`
 * lines. Resolves with the signal that ended the child; rejects when the
 * rows do not appear within `timeoutMs`.
 */
export function killAfterRows(args: string[], report: string, rows: number, timeoutMs: number): Promise<NodeJS.Signals | null> {
  return new Promise<NodeJS.Signals | null>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'ignore' });
    const deadline = setTimeout(() => {
      clearInterval(poll);
      child.kill('SIGKILL');
      reject(new Error(`rescan did not write ${rows} rows within ${timeoutMs} ms`));
    }, timeoutMs);
    const poll = setInterval(() => {
      void lineCount(report).then((count) => {
        if (count >= rows) {
          clearInterval(poll);
          child.kill('SIGKILL');
        }
      });
    }, 2);
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearInterval(poll);
      clearTimeout(deadline);
      resolve(signal);
    });
  });
}

/** Runs `node ARGS` to its end and resolves with its exit code. */
export function runToExit(args: string[]): Promise<number | null> {
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  return new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', resolve);
  });
}
