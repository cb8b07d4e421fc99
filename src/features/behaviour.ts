import { isIP } from 'node:net';
import type { Envelope, ParsedMessage } from '../parse/types.js';
import { behaviourKeys, type KeyStats } from '../store/index.js';
import { domainOf, organisationalDomain } from '../domains.js';
import { contentFingerprint } from './fingerprint.js';
import { receivedTimestamp } from './header.js';
import type { FeatureWriter } from './writer.js';

/**
 * Sender-behaviour features: what the behaviour store has seen of this
 * message's envelope sender, From organisational domain and client network
 * before this message. A message whose store was unavailable gets
 * `behaviour.unknown` and zeros, the state the model was trained to
 * expect when the store fails.
 */

export const BEHAVIOUR_KINDS = ['sender', 'org', 'net'] as const;
export type BehaviourKind = (typeof BEHAVIOUR_KINDS)[number];
export const BEHAVIOUR_MEASURES = ['count_1h', 'count_24h', 'new', 'age_days', 'recipients', 'spam_share', 'reports'] as const;

const SECONDS_PER_DAY = 86_400;

/**
 * The behaviour keys of one message by kind, from the store's key builder.
 * `content` is the content fingerprint: no model feature reads it, but user
 * reports on it reach near-duplicates of a reported message.
 */
export interface BehaviourKeySet {
  keys: string[];
  byKind: Partial<Record<BehaviourKind | 'content', string>>;
}

function isPublicIpv4(ip: string): boolean {
  const [a = 0, b = 0] = ip.split('.').map(Number);
  if (a === 10 || a === 127 || a === 0 || a >= 224) return false;
  if (a === 172 && b >= 16 && b <= 31) return false;
  if (a === 192 && b === 168) return false;
  return !(a === 169 && b === 254);
}

/**
 * Derives an envelope from the headers when the caller has none, as for a
 * rescan: Return-Path for MAIL FROM, and the bracketed address of the
 * topmost Received header that names a public IPv4 address for the client.
 */
export function envelopeFromHeaders(message: ParsedMessage): Envelope {
  const envelope: Envelope = {};
  if (message.returnPath.includes('@')) envelope.mailFrom = message.returnPath;
  for (const field of message.headers) {
    if (field.name !== 'received') continue;
    const match = /\[(\d{1,3}(?:\.\d{1,3}){3})\]/.exec(field.value);
    if (match?.[1] && isIP(match[1]) === 4 && isPublicIpv4(match[1])) {
      envelope.clientIp = match[1];
      break;
    }
  }
  return envelope;
}

/**
 * When the message arrived, for replaying archived mail in order: the
 * timestamp of the topmost Received header that parses (the last hop's
 * clock), else the Date header, else null.
 */
export function arrivalTime(message: ParsedMessage): number | null {
  for (const field of message.headers) {
    if (field.name !== 'received') continue;
    const time = receivedTimestamp(field.value);
    if (time !== null) return time;
  }
  return message.date ? message.date.getTime() : null;
}

/** Builds the behaviour keys of a message from its envelope (or the headers' stand-in), From domain and content. */
export function messageBehaviourKeys(message: ParsedMessage, envelope: Envelope | undefined): BehaviourKeySet {
  const source = envelope && (envelope.clientIp || envelope.mailFrom) ? envelope : envelopeFromHeaders(message);
  const fromDomain = domainOf(message.from[0]?.address ?? '');
  const input = {
    ...(source.mailFrom ? { envelopeSender: source.mailFrom } : {}),
    ...(fromDomain ? { fromDomain, orgDomain: organisationalDomain(fromDomain) } : {}),
    ...(source.clientIp ? { clientIp: source.clientIp } : {}),
  };
  // Only the keys the features or the report symbols read are observed: each key costs a script call per message in Redis.
  const keys: string[] = [];
  const byKind: BehaviourKeySet['byKind'] = {};
  for (const key of behaviourKeys(input)) {
    const kind = key.startsWith('sender:') ? 'sender' : key.startsWith('org:') ? 'org' : key.startsWith('net:') ? 'net' : null;
    if (kind === null) continue;
    byKind[kind] = key;
    keys.push(key);
  }
  const content = contentFingerprint(message);
  if (content !== null) {
    byKind.content = content;
    keys.push(content);
  }
  return { keys, byKind };
}

/** Writes the behaviour features; `stats` null means the store was unavailable. */
export function writeBehaviourFeatures(keySet: BehaviourKeySet | null, stats: Record<string, KeyStats> | null, out: FeatureWriter): void {
  if (!keySet || !stats) {
    out.set('behaviour.unknown', 1);
    return;
  }
  for (const kind of BEHAVIOUR_KINDS) {
    const key = keySet.byKind[kind];
    const entry = key ? stats[key] : undefined;
    if (!entry) continue;
    const verdicts = entry.hamVerdicts + entry.spamVerdicts;
    out.set(`behaviour.${kind}_count_1h`, Math.log1p(entry.count1h));
    out.set(`behaviour.${kind}_count_24h`, Math.log1p(entry.count24h));
    out.set(`behaviour.${kind}_new`, entry.firstSeenAgeSeconds === null ? 1 : 0);
    out.set(`behaviour.${kind}_age_days`, entry.firstSeenAgeSeconds === null ? 0 : Math.log1p(entry.firstSeenAgeSeconds / SECONDS_PER_DAY));
    out.set(`behaviour.${kind}_recipients`, Math.log1p(entry.distinctRecipients));
    // Smoothed towards one half, so one earlier verdict moves it only part of the way.
    out.set(`behaviour.${kind}_spam_share`, verdicts === 0 ? 0.5 : (entry.spamVerdicts + 1) / (verdicts + 2));
    out.set(`behaviour.${kind}_reports`, Math.log1p(entry.spamReports) - Math.log1p(entry.hamReports));
  }
}
