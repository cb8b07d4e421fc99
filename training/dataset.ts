import { DEFAULT_PARSE_LIMITS, parseBytes } from '../src/parse/index.js';
import type { ParsedMessage } from '../src/parse/types.js';
import { arrivalTime, messageBehaviourKeys, type BehaviourKeySet } from '../src/features/index.js';
import { messageTokens } from '../src/features/tokens.js';
import { MemoryBehaviourStore, type KeyStats } from '../src/store/index.js';
import type { CorpusMessage } from './corpus.js';
import { Progress } from './progress.js';

/** A corpus message parsed once, with its tokens, for every later step of training. */
export interface Example {
  message: CorpusMessage;
  parsed: ParsedMessage;
  tokens: string[];
  spam: boolean;
  /** What a fresh behaviour store replaying this message's set in arrival order returned for it. */
  behaviour?: { keys: BehaviourKeySet; stats: Record<string, KeyStats> };
}

/**
 * Replays each set's examples in arrival order through a fresh in-memory
 * behaviour store, so each example gets the sender history a gateway would
 * have had when it arrived. After each message its label is counted as the
 * verdict, as for a gateway whose verdicts were right.
 */
export async function replayBehaviour(examples: readonly Example[]): Promise<void> {
  const bySet = new Map<string, Example[]>();
  for (const example of examples) {
    const list = bySet.get(example.message.set) ?? [];
    list.push(example);
    bySet.set(example.message.set, list);
  }
  for (const members of bySet.values()) {
    let last = 0;
    const timed = members.map((example, index) => {
      const time = arrivalTime(example.parsed) ?? last;
      last = time;
      return { example, index, time };
    });
    timed.sort((a, b) => a.time - b.time || a.index - b.index);
    const store = new MemoryBehaviourStore();
    for (const { example, time } of timed) {
      const keys = messageBehaviourKeys(example.parsed, undefined);
      const recipients = [...example.parsed.to, ...example.parsed.cc].map((address) => address.address).filter((address) => address !== '');
      const { stats } = await store.observe(keys.keys, { now: time, recipients });
      example.behaviour = { keys, stats };
      await store.recordVerdict(keys.keys, example.spam ? 'spam' : 'ham', time);
    }
    await store.close();
  }
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
