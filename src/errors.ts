/**
 * Typed errors. Every error spamward throws or reports is a SpamwardError
 * with a stable `code`, so callers can branch on the kind without parsing
 * messages. The message names the value that failed and what to do about it.
 */

export interface SpamwardErrorOptions {
  cause?: unknown;
  /** The input the error is about: a path, a source name or an option name. */
  input?: string;
}

export class SpamwardError extends Error {
  readonly code: string = 'SPAMWARD_ERROR';
  readonly input: string | undefined;

  constructor(message: string, options: SpamwardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.input = options.input;
  }
}

/** An option passed to createScorer or the CLI has an invalid value. */
export class OptionsError extends SpamwardError {
  override readonly code = 'SPAMWARD_INVALID_OPTION';
}

/** A message could not be parsed at all (limits that were hit do not raise this). */
export class ParseError extends SpamwardError {
  override readonly code = 'SPAMWARD_PARSE_FAILED';
}

/** A model folder is missing, corrupt, or was trained with another feature schema. */
export class ModelLoadError extends SpamwardError {
  override readonly code = 'SPAMWARD_MODEL_LOAD_FAILED';
}

/** A path or stream given as a message source cannot be read. */
export class SourceError extends SpamwardError {
  override readonly code = 'SPAMWARD_SOURCE_FAILED';
}

/** A corpus folder given to training or evaluation is missing or malformed. */
export class CorpusError extends SpamwardError {
  override readonly code = 'SPAMWARD_CORPUS_INVALID';
}

/** Returns a one-line description of any thrown value, for reports. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
