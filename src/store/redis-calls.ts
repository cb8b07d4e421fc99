/**
 * Sends a list of Lua script calls to Redis in one socket write and collects
 * their replies. It does less work per call than an ioredis pipeline of
 * `defineCommand` scripts: one Command and one reply handler per call, with
 * no Pipeline object and no per-call closures for the EVALSHA fallback.
 */

import { createHash } from 'node:crypto';
import { Command, type Redis } from 'ioredis';

/** A Lua script and its SHA-1 digest, which EVALSHA takes. */
export interface LuaScript {
  readonly lua: string;
  readonly sha: string;
  /** Sockets on which this client has sent the script with EVAL, so EVALSHA finds it in the server's script cache. */
  readonly sentOn: WeakSet<object>;
}

/** One script call: the script and the EVALSHA arguments after the digest (numkeys, keys, then ARGV). */
export interface ScriptCall {
  readonly script: LuaScript;
  readonly args: readonly string[];
}

/** Text of the error Redis returns for EVALSHA when the script is not in its cache (after SCRIPT FLUSH or a restart). */
const NO_SCRIPT = 'NOSCRIPT';

export function luaScript(lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex'), sentOn: new WeakSet() };
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/**
 * Builds the command of one call: EVAL with the script text the first time
 * the script goes out on this socket, EVALSHA with its digest afterwards.
 * A server that was restarted or flushed replies to EVALSHA with NOSCRIPT,
 * and `sendScriptCalls` then sends the call again with EVAL.
 */
function buildCommand(call: ScriptCall, socket: object): Command {
  const script = call.script;
  const useEval = !script.sentOn.has(socket);
  if (useEval) script.sentOn.add(socket);
  return new Command(useEval ? 'eval' : 'evalsha', [useEval ? script.lua : script.sha, ...call.args]);
}

/**
 * Writes the commands with one socket write, and resolves with one entry per
 * command, in order: the reply, or an Error for an error reply or a command
 * that could not be sent. Never rejects.
 */
function sendOnce(client: Redis, calls: readonly ScriptCall[]): Promise<unknown[]> {
  const socket = client.stream;
  const commands = calls.map((call) => buildCommand(call, socket));
  const replies = new Array<unknown>(commands.length);
  const settled = new Promise<unknown[]>((resolve) => {
    let remaining = commands.length;
    const settle = (position: number, value: unknown): void => {
      replies[position] = value;
      remaining -= 1;
      if (remaining === 0) resolve(replies);
    };
    commands.forEach((command, position) => {
      command.promise.then(
        (reply: unknown) => settle(position, reply),
        (error: unknown) => settle(position, toError(error)),
      );
    });
  });
  // ioredis writes each command separately, so the socket is corked while they are queued.
  // The first message of a tick goes out at once, so its round trip overlaps the rest of its scoring.
  // Later messages of the same tick stay corked until the tick ends and go out together in one writev().
  const coalesce = sentThisTick.has(socket);
  if (coalesce) corkUntilNextTick(socket);
  else {
    sentThisTick.add(socket);
    process.nextTick(() => sentThisTick.delete(socket));
    socket.cork();
  }
  try {
    for (const command of commands) client.sendCommand(command);
  } finally {
    if (!coalesce) socket.uncork();
  }
  return settled;
}

/** Sockets that sent calls in the current tick. */
const sentThisTick = new WeakSet<object>();
/** Sockets corked until the current tick ends. */
const corked = new WeakSet<object>();

function corkUntilNextTick(socket: { cork(): void; uncork(): void }): void {
  if (corked.has(socket)) return;
  corked.add(socket);
  socket.cork();
  process.nextTick(() => {
    corked.delete(socket);
    socket.uncork();
  });
}

/**
 * Sends the script calls in one round trip and resolves with their replies
 * in order, an Error standing for each error reply. Calls that failed with
 * NOSCRIPT are sent once more with EVAL, in a second round trip. Never
 * rejects. Call it only while the client's status is `ready`.
 */
export async function sendScriptCalls(client: Redis, calls: readonly ScriptCall[]): Promise<unknown[]> {
  if (calls.length === 0) return [];
  const replies = await sendOnce(client, calls);
  const missing: number[] = [];
  replies.forEach((reply, position) => {
    if (reply instanceof Error && reply.message.includes(NO_SCRIPT)) missing.push(position);
  });
  if (missing.length === 0) return replies;

  const socket = client.stream;
  for (const position of missing) calls[position]?.script.sentOn.delete(socket);
  const retried = await sendOnce(
    client,
    missing.map((position) => calls[position] as ScriptCall),
  );
  missing.forEach((position, index) => {
    replies[position] = retried[index];
  });
  return replies;
}
