import { DEFAULT_PARSE_LIMITS, parseBytes } from '../src/parse/index.js';
import type { ParsedMessage } from '../src/parse/types.js';
import { messageTokens } from '../src/features/tokens.js';
import type { CorpusMessage } from './corpus.js';
import { Progress } from './progress.js';

/** A corpus message parsed once, with its tokens, for every later step of training. */
export interface Example {
  message: CorpusMessage;
  parsed: ParsedMessage;
  tokens: string[];
  spam: boolean;
}

/**
 * Parses every message with the scorer's own parser and limits. A message
 * that cannot be parsed is reported and left out, so one bad file cannot
 * stop a training run.
 */
export async function parseExamples(messages: readonly CorpusMessage[], label: string): Promise<Example[]> {
  const progress = new Progress(`parse ${label}`, messages.length);
  const examples: Example[] = [];
  for (const message of messages) {
    try {
      const parsed = await parseBytes(message.raw, message.raw.length, DEFAULT_PARSE_LIMITS);
      examples.push({ message, parsed, tokens: messageTokens(parsed), spam: message.label === 'spam' });
    } catch (error) {
      process.stderr.write(`\nskipped ${message.path}: ${error instanceof Error ? error.message : String(error)}\n`);
    }
    progress.tick();
  }
  progress.done();
  return examples;
}
