/**
 * Scoring of one rescanned message, shared by the worker threads and the
 * in-process path: the scorer's result cut down to the report fields, and
 * the score an earlier filter wrote into the message's headers.
 */
import { describeError, SpamwardError } from '../errors.js';
import type { Scorer } from '../pipeline/scorer.js';
import type { VerdictName } from '../pipeline/types.js';

/** Bytes of the header block searched for an earlier filter's headers. */
const MAX_HEADER_SCAN_BYTES = 256 * 1024;
const SCORE_NUMBER = '([+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+))';
const X_SPAM_SCORE = new RegExp(`^x-spam-score:[ \\t]*${SCORE_NUMBER}`, 'im');
/** SpamAssassin writes `score=`; versions before 3.0 wrote `hits=`. */
const X_SPAM_STATUS = /^x-spam-status:[ \t]*(yes|no)\b([^\n]*(?:\n[ \t][^\n]*)*)/im;
const STATUS_SCORE = new RegExp(`\\b(?:score|hits)=${SCORE_NUMBER}`, 'i');
const X_SPAM_FLAG = /^x-spam-flag:[ \t]*(yes|no)\b/im;

/** The report fields of a scored message. */
export interface ScoredFields {
  messageId: string;
  verdict: VerdictName;
  /** Rounded to 3 decimals. */
  score: number;
  symbols: { name: string; score: number }[];
  degraded: string[];
  modelVersion: string | null;
  previousScore: number | null;
  previousFlagged: boolean | null;
}

/** The outcome of scoring one message; `error` names what failed. */
export type JobOutcome = { fields: ScoredFields; error?: undefined } | { fields?: undefined; error: { code: string; message: string } };

export function round3(value: number): number {
  const rounded = Math.round(value * 1000) / 1000;
  return rounded === 0 ? 0 : rounded;
}

export function toItemError(error: unknown): { code: string; message: string } {
  if (error instanceof SpamwardError) return { code: error.code, message: error.message };
  return { code: 'SPAMWARD_ERROR', message: describeError(error) };
}

/** Returns the top-level header block as latin1 text with CRLF turned into LF, at most MAX_HEADER_SCAN_BYTES long. */
function headerBlock(raw: Buffer): string {
  const head = raw.subarray(0, MAX_HEADER_SCAN_BYTES).toString('latin1').replace(/\r\n/g, '\n');
  const end = head.search(/\n\n/);
  return end === -1 ? head : head.slice(0, end + 1);
}

function parseScore(text: string | undefined): number | null {
  if (text === undefined) return null;
  const value = Number(text);
  return Number.isFinite(value) ? round3(value) : null;
}

/**
 * Reads the verdict and score an earlier filter wrote into the headers. The
 * topmost header of each kind wins, because the last filter to see the
 * message writes above the others. `X-Spam-Score` comes before the score in
 * `X-Spam-Status`.
 */
export function previousFilterResult(raw: Buffer): { score: number | null; flagged: boolean | null } {
  const headers = headerBlock(raw);
  const status = X_SPAM_STATUS.exec(headers);
  const flag = X_SPAM_FLAG.exec(headers);
  let score = parseScore(X_SPAM_SCORE.exec(headers)?.[1]);
  if (score === null && status !== null) score = parseScore(STATUS_SCORE.exec(status[2] ?? '')?.[1]);
  let flagged: boolean | null = null;
  if (status !== null) flagged = status[1]?.toLowerCase() === 'yes';
  else if (flag !== null) flagged = flag[1]?.toLowerCase() === 'yes';
  return { score, flagged };
}

/** Scores `raw` and keeps the `topSymbols` symbols with the largest absolute scores. A failure is returned, not thrown. */
export async function scoreMessage(scorer: Scorer, raw: Buffer, topSymbols: number): Promise<JobOutcome> {
  try {
    const result = await scorer.score(raw);
    const previous = previousFilterResult(raw);
    return {
      fields: {
        messageId: result.messageId,
        verdict: result.verdict,
        score: round3(result.score),
        symbols: [...result.symbols]
          .sort((a, b) => Math.abs(b.score) - Math.abs(a.score))
          .slice(0, topSymbols)
          .map((symbol) => ({ name: symbol.name, score: round3(symbol.score) })),
        degraded: result.degraded,
        modelVersion: result.modelVersion,
        previousScore: previous.score,
        previousFlagged: previous.flagged,
      },
    };
  } catch (error) {
    return { error: toItemError(error) };
  }
}
