/**
 * Polls one file with fs.stat and calls back when it changes. The registry
 * replaces active.json by rename, so a change shows as a new inode even when
 * size and mtime happen to match.
 */
import { stat } from 'node:fs/promises';

export interface FilePoller {
  /** Stops polling and waits for a callback that is running. */
  close(): Promise<void>;
}

/** Returns a string that changes whenever `path` is replaced, written, created or removed. */
export async function fileSignature(path: string): Promise<string> {
  try {
    const info = await stat(path);
    return `${info.ino}:${info.size}:${info.mtimeMs}`;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
    return code === 'ENOENT' ? 'missing' : `error:${code}`;
  }
}

/**
 * Stats `path` every `intervalMs` milliseconds and awaits `onChange` when
 * its signature differs from the last one seen, starting from
 * `initialSignature`. Polls never overlap, the timer is unref'd so it does
 * not keep the process alive, and a rejection of `onChange` is ignored: the
 * callback reports its own errors. The file counts as seen even when
 * `onChange` fails, so a failure is retried only after the next change.
 */
export function pollFile(path: string, intervalMs: number, initialSignature: string, onChange: () => Promise<void>): FilePoller {
  let last = initialSignature;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;

  async function check(): Promise<void> {
    const signature = await fileSignature(path);
    if (signature === last || closed) return;
    last = signature;
    await onChange();
  }

  function schedule(): void {
    timer = setTimeout(() => {
      timer = null;
      running = check()
        .catch(() => {})
        .finally(() => {
          running = null;
          if (!closed) schedule();
        });
    }, intervalMs);
    timer.unref();
  }

  schedule();
  return {
    async close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
