/**
 * The one place where DNS response codes become outcome statuses, and where
 * outcome statuses become Node-style error codes for callers that expect
 * `dns.promises.resolve` errors.
 */

import { SpamwardError } from '../../errors.js';
import type { DnsFailureStatus, DnsRecordType } from './types.js';

/** What a response code means for the lookup: an answer to read, or a failure. */
export type RcodeMeaning = { kind: 'answer' } | { kind: 'nxdomain' } | { kind: 'failure'; status: DnsFailureStatus };

/** Node's `dns` error codes, as `dns.promises.resolve` sets them on its errors. */
export type NodeDnsErrorCode = 'ENOTFOUND' | 'ENODATA' | 'ETIMEOUT' | 'ESERVFAIL' | 'EREFUSED' | 'EBADRESP' | 'ECANCELLED' | 'EBADNAME';

/** The SPF result mailauth reports for an error that carries it (see DnsLookupError). */
export interface SpfErrorResult {
  error: 'temperror' | 'permerror';
  text: string;
}

const NODE_CODE_BY_STATUS: Readonly<Record<DnsFailureStatus | 'nxdomain' | 'nodata', NodeDnsErrorCode>> = Object.freeze({
  nxdomain: 'ENOTFOUND',
  nodata: 'ENODATA',
  timeout: 'ETIMEOUT',
  servfail: 'ESERVFAIL',
  refused: 'EREFUSED',
  malformed: 'EBADRESP',
  skipped: 'ECANCELLED',
  badname: 'EBADNAME',
});

/**
 * Maps a response code, as dns-packet names it, to its meaning. NOERROR is an
 * answer (with records, or NODATA when it has none). FORMERR, NOTIMP and codes
 * a query never expects back are server-side errors, like SERVFAIL.
 */
export function meaningOfRcode(rcode: string): RcodeMeaning {
  switch (rcode) {
    case 'NOERROR':
      return { kind: 'answer' };
    case 'NXDOMAIN':
      return { kind: 'nxdomain' };
    case 'REFUSED':
      return { kind: 'failure', status: 'refused' };
    default:
      return { kind: 'failure', status: 'servfail' };
  }
}

/** Maps a socket error (from `dgram` or `net`) to a failure status. */
export function statusOfSocketError(error: unknown): DnsFailureStatus {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ETIMEDOUT') return 'timeout';
  return 'refused';
}

/** Returns the Node `dns` error code for a negative answer or a failure status. */
export function nodeCodeOf(status: DnsFailureStatus | 'nxdomain' | 'nodata'): NodeDnsErrorCode {
  return NODE_CODE_BY_STATUS[status];
}

/**
 * A lookup that ended without records, shaped like the errors of Node's
 * `dns.promises.resolve`: `code` (ENOTFOUND, ENODATA, ETIMEOUT, ...),
 * `hostname` and `syscall` (`queryTxt`, `queryA`, ...).
 *
 * Failures (every code but ENOTFOUND and ENODATA) also carry `spfResult`
 * with `error: 'temperror'`, or `permerror` for a name that cannot be
 * queried. mailauth 4.13.3 reads that property in its SPF code and reports
 * it as the SPF result; without it, a failure other than ETIMEOUT or
 * EREFUSED inside an `include:` is ignored and evaluation moves on to the
 * next mechanism, which can end in `-all` and a fail.
 */
export class DnsLookupError extends SpamwardError {
  override readonly code: NodeDnsErrorCode;
  readonly hostname: string;
  readonly syscall: string;
  /** The outcome status the error was made from. */
  readonly status: DnsFailureStatus | 'nxdomain' | 'nodata';
  spfResult?: SpfErrorResult;

  constructor(name: string, type: DnsRecordType, status: DnsFailureStatus | 'nxdomain' | 'nodata', reason: string) {
    const code = nodeCodeOf(status);
    super(`DNS ${type} lookup of ${JSON.stringify(name)} failed with ${code}: ${reason}`, { input: name });
    this.code = code;
    this.hostname = name;
    this.syscall = `query${type.charAt(0)}${type.slice(1).toLowerCase()}`;
    this.status = status;
    if (status !== 'nxdomain' && status !== 'nodata') {
      this.spfResult = {
        error: status === 'badname' ? 'permerror' : 'temperror',
        text: `DNS ${type} lookup of ${name} failed: ${reason}`,
      };
    }
  }
}
