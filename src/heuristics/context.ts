import type { Address, Envelope, HeaderField, ParsedMessage } from '../parse/types.js';
import { parseMailDate } from './dates.js';

/**
 * The per-message view that rules read. Costly derived values (header index,
 * cut text, Received timestamp, `memo` entries) are computed on first use and
 * kept. Each costs at most once per message however many rules read it, and
 * a value that no enabled rule needs is never computed. Rules must not change
 * the context or the message, because later rules read the same objects.
 */

/** Characters of body text and of HTML that rules scan. The rest is ignored, and the parser already cuts each header field. */
export const MAX_SCANNED_CHARS = 100_000;
/** Received fields read when looking for the newest timestamp. */
export const MAX_RECEIVED_SCANNED = 8;
/** Characters of one Received field, after its last semicolon, searched for a timestamp. */
const MAX_RECEIVED_DATE_CHARS = 200;

export class RuleContext {
  readonly message: ParsedMessage;
  readonly envelope: Envelope;

  #headerIndex: Map<string, HeaderField[]> | undefined;
  #text: string | undefined;
  #html: string | undefined;
  #receivedTime: number | null | undefined;
  readonly #memo = new Map<string, unknown>();

  constructor(message: ParsedMessage, envelope: Envelope = {}) {
    this.message = message;
    this.envelope = envelope;
  }

  /**
   * Returns the value stored under `key`, computing it on the first call.
   * Rules that share a costly derived value (such as one scan for all
   * phrase lists) use this, with a key prefixed by their file name.
   */
  memo<T>(key: string, compute: () => T): T {
    if (this.#memo.has(key)) return this.#memo.get(key) as T;
    const value = compute();
    this.#memo.set(key, value);
    return value;
  }

  /** Returns all fields with the lower-case `name`, in message order. */
  headers(name: string): readonly HeaderField[] {
    if (this.#headerIndex === undefined) {
      const index = new Map<string, HeaderField[]>();
      for (const field of this.message.headers) {
        const list = index.get(field.name);
        if (list === undefined) index.set(field.name, [field]);
        else list.push(field);
      }
      this.#headerIndex = index;
    }
    return this.#headerIndex.get(name) ?? [];
  }

  hasHeader(name: string): boolean {
    return this.headers(name).length > 0;
  }

  /** Decoded value of the first field called `name`, or an empty string. */
  header(name: string): string {
    return this.headers(name)[0]?.value ?? '';
  }

  /** Raw value of the first field called `name` (encoded-words not decoded), or an empty string. */
  rawHeader(name: string): string {
    return this.headers(name)[0]?.raw ?? '';
  }

  /** First From address, or undefined when From is missing or unparsable. */
  get from(): Address | undefined {
    return this.message.from.find((address) => address.address !== '');
  }

  /** Domain of the first From address, or an empty string. */
  get fromDomain(): string {
    return this.from?.domain ?? '';
  }

  /** True when the message carries a List-Id field (RFC 2919), as mailing-list mail does. */
  get isListMail(): boolean {
    return this.hasHeader('list-id');
  }

  /** Body text, cut at MAX_SCANNED_CHARS. */
  get text(): string {
    this.#text ??= this.message.text.slice(0, MAX_SCANNED_CHARS);
    return this.#text;
  }

  /** HTML bodies, cut at MAX_SCANNED_CHARS. */
  get html(): string {
    this.#html ??= this.message.html.slice(0, MAX_SCANNED_CHARS);
    return this.#html;
  }

  /**
   * Timestamp of the newest Received field in milliseconds since the epoch,
   * or null when no Received field has a readable date. The topmost field is
   * the newest, because each relay prepends its own; lower ones are only
   * read when the ones above carry no date.
   */
  get receivedTime(): number | null {
    if (this.#receivedTime === undefined) {
      this.#receivedTime = null;
      for (const field of this.headers('received').slice(0, MAX_RECEIVED_SCANNED)) {
        const afterSemicolon = field.raw.slice(field.raw.lastIndexOf(';') + 1);
        const time = parseMailDate(afterSemicolon.slice(0, MAX_RECEIVED_DATE_CHARS));
        if (time !== null) {
          this.#receivedTime = time;
          break;
        }
      }
    }
    return this.#receivedTime;
  }
}
