import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';

const root = join(import.meta.dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const examples = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1] ?? '').filter((code) => code.includes("from 'spamward'"));
const built = existsSync(join(root, 'dist', 'src', 'index.js'));
// The examples import the package by name, which resolves to dist/ through the exports map once it is built.
const folder = mkdtempSync(join(root, '.readme-examples-'));
const run = promisify(execFile);

// The Redis example runs against a redis-server of the test's own, on a free port.
const README_REDIS_URL = 'redis://127.0.0.1:6379/0';
let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedisServer();
});

afterAll(async () => {
  rmSync(folder, { recursive: true, force: true });
  await redis.stop();
});

describe.skipIf(!built && !process.env.CI)('README examples', () => {
  it('has examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(4);
  });

  it.each(examples.map((code, index) => [index + 1, code] as const))('example %i runs', async (index, code) => {
    const file = join(folder, `example-${index}.mjs`);
    writeFileSync(file, code.replace(README_REDIS_URL, `redis://127.0.0.1:${redis.port}/0`));
    const { stdout } = await run(process.execPath, [file], { cwd: root, timeout: 60_000 });
    expect(stdout.trim().length).toBeGreaterThan(0);
    // The examples run against servers they can reach, so none of them should report a degraded store.
    expect(stdout).not.toMatch(/behaviour-store:/);
  });
});
