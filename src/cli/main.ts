#!/usr/bin/env node
import { runCli } from './run.js';

// Ctrl-C stops the scan after the current message, so the rows scored so far
// and the summary are printed and the terminal is left clean. A second
// Ctrl-C ends the process at once.
const interrupt = new AbortController();
process.once('SIGINT', () => interrupt.abort());

// A reader that closes early (`spamward scan --help | head`) is not an error.
// The scan and rescan stop on EPIPE themselves; this covers writes outside
// them, such as help text, which would otherwise crash on an unhandled event.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

process.exitCode = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  isTTY: { stdout: process.stdout.isTTY === true, stderr: process.stderr.isTTY === true },
  signal: interrupt.signal,
});
