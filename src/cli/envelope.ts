/**
 * The SMTP envelope given on the command line (--client-ip, --helo,
 * --mail-from). It describes one SMTP transaction, so it may only be applied
 * to one message: a scan with an envelope takes one file or stdin, and stops
 * when that input turns out to contain a second message.
 */
import { stat } from 'node:fs/promises';
import { OptionsError } from '../errors.js';
import type { Envelope } from '../parse/types.js';
import type { SourcedMessage } from '../pipeline/sources.js';

type EnvelopeField = 'clientIp' | 'helo' | 'mailFrom';

const LEAVE_OUT_ADVICE = 'or leave out --client-ip, --helo and --mail-from.';

const FLAG_NAMES: Record<EnvelopeField, string> = {
  clientIp: '--client-ip',
  helo: '--helo',
  mailFrom: '--mail-from',
};

/** Returns the subject of an error message, naming the options in use: `The envelope options --client-ip and --mail-from apply`. */
function describeFlags(envelope: Envelope): string {
  const used = (Object.keys(FLAG_NAMES) as EnvelopeField[]).filter((key) => envelope[key] !== undefined).map((key) => FLAG_NAMES[key]);
  const list = used.length <= 1 ? used.join('') : `${used.slice(0, -1).join(', ')} and ${used.at(-1)}`;
  return used.length === 1 ? `The envelope option ${list} applies` : `The envelope options ${list} apply`;
}

/** Returns the envelope set by the options, or undefined when none of them was given. */
export function envelopeFromFlags(flags: Pick<Envelope, EnvelopeField>): Envelope | undefined {
  if (flags.clientIp === undefined && flags.helo === undefined && flags.mailFrom === undefined) return undefined;
  const envelope: Envelope = {};
  if (flags.clientIp !== undefined) envelope.clientIp = flags.clientIp;
  if (flags.helo !== undefined) envelope.helo = flags.helo;
  if (flags.mailFrom !== undefined) envelope.mailFrom = flags.mailFrom;
  return envelope;
}

/**
 * Returns why an envelope cannot apply to `paths`, or null. It rejects
 * several paths and a folder. A path that cannot be read is left for the
 * scan to report, and an mbox file is caught later by `onlyMessage`.
 */
export async function envelopeInputProblem(paths: string[], envelope: Envelope): Promise<string | null> {
  const subject = describeFlags(envelope);
  if (paths.length !== 1) {
    return `${subject} to one message only, but ${paths.length} paths were given. Scan the message on its own, ${LEAVE_OUT_ADVICE}`;
  }
  const [input] = paths as [string];
  if (input === '-') return null;
  try {
    if ((await stat(input)).isDirectory()) {
      return `${subject} to one message only, but ${input} is a folder. Give the path of one message file, ${LEAVE_OUT_ADVICE}`;
    }
  } catch {
    // The scan reports the path as unreadable, with the reason, in its output row.
  }
  return null;
}

/**
 * Yields the only message of `items`. It reads the second item before
 * yielding the first, so no output row is printed for an input that
 * contains more than one message, and then throws an OptionsError naming that input.
 * Reading ahead keeps at most one extra message in memory.
 */
export async function* onlyMessage(items: AsyncGenerator<SourcedMessage>, envelope: Envelope): AsyncGenerator<SourcedMessage> {
  try {
    const first = await items.next();
    if (first.done === true) return;
    const second = await items.next();
    if (second.done !== true) {
      const input = first.value.path === '-' ? 'standard input' : first.value.path;
      throw new OptionsError(
        `${describeFlags(envelope)} to one message only, but ${input} contains more than one (it is an mbox). Split it and scan each message on its own, ${LEAVE_OUT_ADVICE}`,
        { input: first.value.path },
      );
    }
    yield first.value;
  } finally {
    await items.return(undefined);
  }
}
