import type { Envelope } from '../../src/parse/types.js';
import type { ParseLimits } from '../../src/parse/limits.js';
import { attachment, CONTENT, encodedWord, htmlMail, htmlPart, mail, multipart, multipartBody, part, textPart } from './messages.js';

/**
 * One message on which a rule must fire and one on which it must not. The
 * quiet message is a near miss where one exists (two exclamation marks for a
 * rule that needs three), so the test pins the threshold as well.
 */
export interface Sample {
  raw: string;
  envelope?: Envelope;
  limits?: Partial<ParseLimits>;
}

export interface RuleCase {
  fires: Sample;
  quiet: Sample;
}

const received = (hour: number): string =>
  `from relay${hour}.example.net (relay${hour}.example.net [198.51.100.${hour}]) by mx.example.com; Tue, 20 Aug 2002 ${String(hour % 24).padStart(2, '0')}:00:00 +0000`;
const receivedChain = (count: number): string[] => Array.from({ length: count }, (_, index) => received(count - index));
const recipients = (count: number): string => Array.from({ length: count }, (_, index) => `user${index}@example.com`).join(', ');
const links = (count: number): string => Array.from({ length: count }, (_, index) => `https://www.example.com/page/${index}`).join('\n');
const amounts = (count: number): string => Array.from({ length: count }, (_, index) => `Item ${index}: $${index + 1}0.00`).join('\n');
const words = (prefix: string, count: number): string => Array.from({ length: count }, (_, index) => `${prefix}${String.fromCharCode(97 + (index % 26))}${String.fromCharCode(97 + Math.floor(index / 26))}`).join(' ');

const LONG_TEXT = 'We are writing to tell you about the changes to the delivery schedule for the next quarter. '.repeat(4);
const htmlWith = (inner: string): string => `<html><body>${inner}</body></html>`;
const plainHtml = (inner: string): Sample => ({ raw: htmlMail(htmlWith(inner), 'Notes from the meeting, see the HTML version.') });
const attached = (...parts: string[]): string => multipart('mixed', [textPart('See the attached file.'), ...parts]);
const nested = (depth: number): string => {
  let body = textPart('innermost');
  for (let level = 0; level < depth; level += 1) {
    body = part({ 'Content-Type': `multipart/mixed; boundary="n${level}"` }, multipartBody([body], `n${level}`));
  }
  return mail({ 'Content-Type': 'multipart/mixed; boundary="top"' }, multipartBody([body], 'top'));
};
const htmlOnly = (html: string): string => mail({ 'Content-Type': 'text/html; charset=utf-8' }, html);

export const CASES: Record<string, RuleCase> = {
  // Header rules
  MISSING_MESSAGE_ID: { fires: { raw: mail({ 'Message-ID': null }) }, quiet: { raw: mail() } },
  INVALID_MESSAGE_ID: { fires: { raw: mail({ 'Message-ID': '20020820.1234.mail.example.org' }) }, quiet: { raw: mail() } },
  MESSAGE_ID_DOMAIN_MISMATCH: {
    fires: { raw: mail({ 'Message-ID': '<1234@mail.example.net>' }) },
    quiet: { raw: mail({ 'Message-ID': '<1234@relay.mail.example.org>' }) },
  },
  MISSING_DATE: { fires: { raw: mail({ Date: null }) }, quiet: { raw: mail() } },
  INVALID_DATE: {
    fires: { raw: mail({ Date: '2002-08-20 09:59:00' }) },
    quiet: { raw: mail({ Date: 'Tue, 20 Aug 02 02:59:00 PDT' }) },
  },
  DATE_IN_FUTURE: {
    fires: { raw: mail({ Date: 'Thu, 22 Aug 2002 10:00:00 +0000' }) },
    quiet: { raw: mail({ Date: 'Tue, 20 Aug 2002 21:00:00 +0000' }) },
  },
  DATE_IN_PAST: {
    fires: { raw: mail({ Date: 'Wed, 14 Aug 2002 10:00:00 +0000' }) },
    quiet: { raw: mail({ Date: 'Sun, 18 Aug 2002 10:00:00 +0000' }) },
  },
  NO_RECEIVED: { fires: { raw: mail({ Received: null }) }, quiet: { raw: mail() } },
  RECEIVED_CHAIN_LONG: { fires: { raw: mail({ Received: receivedChain(21) }) }, quiet: { raw: mail({ Received: receivedChain(20) }) } },
  BULK_MAILER: {
    fires: { raw: mail({ 'X-Mailer': 'Send-Safe 2.5.0' }) },
    quiet: { raw: mail({ 'X-Mailer': 'Microsoft Outlook Express 6.00.2600.0000' }) },
  },
  PRECEDENCE_BULK_NO_LIST: {
    fires: { raw: mail({ Precedence: 'bulk' }) },
    quiet: { raw: mail({ Precedence: 'bulk', 'List-Id': 'Example users <users.example.org>' }) },
  },
  HIGH_PRIORITY: { fires: { raw: mail({ 'X-Priority': '1 (Highest)' }) }, quiet: { raw: mail({ 'X-Priority': '3 (Normal)' }) } },
  HELO_INVALID: {
    fires: { raw: mail(), envelope: { helo: 'WORKSTATION' } },
    quiet: { raw: mail(), envelope: { helo: '[192.0.2.10]' } },
  },
  IN_REPLY_TO_PRESENT: { fires: { raw: mail({ 'In-Reply-To': '<5678@mail.example.com>' }) }, quiet: { raw: mail() } },
  LIST_HEADERS: { fires: { raw: mail({ 'List-Id': 'Example users <users.example.org>' }) }, quiet: { raw: mail() } },

  // Address rules
  FROM_MISSING: { fires: { raw: mail({ From: null }) }, quiet: { raw: mail() } },
  FROM_REPLYTO_DOMAIN_MISMATCH: {
    fires: { raw: mail({ 'Reply-To': 'carol@example.net' }) },
    quiet: { raw: mail({ 'Reply-To': 'alice@lists.example.org' }) },
  },
  // A free-mail domain is needed here; the address is made up and nothing is sent to it.
  REPLYTO_FREEMAIL: {
    fires: { raw: mail({ 'Reply-To': 'claims.desk.example@gmail.com' }) },
    quiet: { raw: mail({ 'Reply-To': 'claims@example.net' }) },
  },
  RETURN_PATH_MISMATCH: {
    fires: { raw: mail({ 'Return-Path': '<bounce@example.net>' }) },
    quiet: { raw: mail({ 'Return-Path': '<bounces+4711@mail.example.org>' }) },
  },
  FROM_NAME_OTHER_ADDRESS: {
    fires: { raw: mail({ From: '"support@example.net" <alice@example.org>' }) },
    quiet: { raw: mail({ From: '"alice@example.org" <alice@example.org>' }) },
  },
  FROM_NAME_MIXED_SCRIPT: {
    // "Pаypal" with a Cyrillic а.
    fires: { raw: mail({ From: `${encodedWord('P\u0430ypal Support')} <alice@example.org>` }) },
    quiet: { raw: mail({ From: `${encodedWord('\u0410\u043b\u0438\u0441\u0430 Example')} <alice@example.org>` }) },
  },
  FROM_ENCODED_ADDRESS: {
    fires: { raw: mail({ From: `${encodedWord('support@example.net')} <alice@example.org>` }) },
    quiet: { raw: mail({ From: '=?utf-8?Q?Al=C3=ADce?= <alice@example.org>' }) },
  },
  FROM_NEEDLESS_ENCODING: {
    fires: { raw: mail({ From: `${encodedWord('Alice Example')} <alice@example.org>` }) },
    quiet: { raw: mail({ From: '=?utf-8?Q?Al=C3=ADce?= <alice@example.org>' }) },
  },
  TO_UNDISCLOSED: { fires: { raw: mail({ To: 'undisclosed-recipients:;' }) }, quiet: { raw: mail() } },
  MANY_RECIPIENTS: { fires: { raw: mail({ To: recipients(16) }) }, quiet: { raw: mail({ To: recipients(15) }) } },
  HEADER_8BIT_UNENCODED: {
    fires: { raw: mail({ Subject: 'Caf\u00e9 opening hours' }) },
    quiet: { raw: mail({ Subject: '=?utf-8?Q?Caf=C3=A9?= opening hours' }) },
  },

  // Subject rules
  SUBJECT_MISSING: { fires: { raw: mail({ Subject: null }) }, quiet: { raw: mail() } },
  SUBJECT_ALL_CAPS: { fires: { raw: mail({ Subject: 'URGENT BUSINESS PROPOSAL' }) }, quiet: { raw: mail({ Subject: 'FYI: NASA' }) } },
  SUBJECT_EXCLAMATIONS: { fires: { raw: mail({ Subject: 'Great news!!!' }) }, quiet: { raw: mail({ Subject: 'Great news!!' }) } },
  SUBJECT_MONEY: { fires: { raw: mail({ Subject: 'Earn $500 a day' }) }, quiet: { raw: mail({ Subject: 'Meeting at 5 pm' }) } },
  SUBJECT_NEEDLESS_ENCODING: {
    fires: { raw: mail({ Subject: encodedWord('Notes from the meeting') }) },
    quiet: { raw: mail({ Subject: '=?utf-8?Q?Caf=C3=A9_notes?=' }) },
  },
  SUBJECT_ZERO_WIDTH: {
    fires: { raw: mail({ Subject: encodedWord('Cheap V\u200biagra') }) },
    quiet: { raw: mail({ Subject: encodedWord('Family \u{1f468}\u200d\u{1f469}\u200d\u{1f467} photos') }) },
  },
  SUBJECT_FAKE_REPLY: {
    fires: { raw: mail({ Subject: 'Re: your invoice' }) },
    quiet: { raw: mail({ Subject: 'Re: your invoice', References: '<5678@mail.example.com>' }) },
  },

  // Content rules
  BODY_EMPTY: { fires: { raw: mail({}, '') }, quiet: { raw: mail() } },
  BODY_CAPS_EXCESSIVE: { fires: { raw: mail({}, LONG_TEXT.toUpperCase()) }, quiet: { raw: mail({}, LONG_TEXT) } },
  SPAM_PHRASES: {
    fires: { raw: mail({}, 'Act now! This limited time offer ends soon. Click here to order.') },
    quiet: { raw: mail({}, 'Click here to read the newsletter online, or unsubscribe below.') },
  },
  PHISHING_PHRASES: {
    fires: { raw: mail({}, 'Dear user,\nplease verify   your account within 24 hours.') },
    quiet: { raw: mail({}, 'Dear user,\nplease verify your accounts payable report.') },
  },
  ADVANCE_FEE_PHRASES: {
    fires: { raw: mail({}, 'I am the barrister of a late client who named you as his next of kin.') },
    quiet: { raw: mail({}, 'Please add your partner as the beneficiary of the pension plan.') },
  },
  MONEY_AMOUNTS: { fires: { raw: mail({}, amounts(6)) }, quiet: { raw: mail({}, amounts(5)) } },
  BODY_ZERO_WIDTH: {
    fires: { raw: mail({ 'Content-Type': 'text/plain; charset=utf-8' }, 'Buy V\u200bi\u200bagra and C\u200cialis today') },
    quiet: { raw: mail({ 'Content-Type': 'text/plain; charset=utf-8' }, `Preview line${' \u200c\u00a0'.repeat(20)}\nBody text`) },
  },
  HTML_IMAGE_HEAVY: {
    fires: plainHtml('<img src="https://www.example.com/offer.png"><p>See offer</p>'),
    quiet: plainHtml(`<img src="https://www.example.com/chart.png"><p>${LONG_TEXT}</p>`),
  },
  HTML_HIDDEN_TEXT: {
    fires: plainHtml(`<p>Hello</p><div style="display:none">${LONG_TEXT}</div>`),
    quiet: plainHtml('<div style="display:none">Your weekly summary is here.</div><p>Hello</p>'),
  },
  HTML_INVISIBLE_COLOUR: {
    fires: plainHtml('<span style="color:#fff;background-color:#ffffff">filler words here</span>'),
    quiet: plainHtml('<span style="color:#000;background-color:#ffffff">visible words here</span>'),
  },
  HTML_FORM: {
    fires: plainHtml('<form action="https://www.example.net/login"><input name="password"></form>'),
    quiet: plainHtml('<p>Log in on the web site.</p>'),
  },
  HTML_SCRIPT: { fires: plainHtml('<script>document.title = "x";</script><p>Hello</p>'), quiet: plainHtml('<p>Hello</p>') },
  HTML_TEXT_MISMATCH: {
    fires: { raw: htmlMail(htmlWith(`<p>${words('offer', 30)}</p>`), 'Your mail program cannot show this message.') },
    quiet: { raw: htmlMail(htmlWith(`<p>${words('note', 30)}</p>`), words('note', 30)) },
  },

  // Link rules
  URL_IP_HOST: {
    fires: { raw: mail({}, 'Log in at http://198.51.100.7/login now.') },
    quiet: { raw: mail({}, 'Log in at https://www.example.com/login now.') },
  },
  URL_SHORTENER: {
    fires: { raw: mail({}, 'Details: https://bit.ly/3xYz9') },
    quiet: { raw: mail({}, 'Details: https://www.example.com/bit.ly') },
  },
  URL_ANCHOR_MISMATCH: {
    fires: plainHtml('<a href="http://login.example.net/">https://www.example.com/account</a>'),
    quiet: plainHtml('<a href="https://www.example.com/account">example.com</a> and <a href="https://www.example.net/">README.md</a>'),
  },
  URL_PUNYCODE: {
    fires: { raw: mail({}, 'Visit http://www.xn--exmple-cua.com/ today.') },
    quiet: { raw: mail({}, 'Visit http://www.example.com/xn--page today.') },
  },
  URL_MANY_LINKS: { fires: { raw: mail({}, links(51)) }, quiet: { raw: mail({}, links(50)) } },
  URL_DANGEROUS_SCHEME: {
    fires: plainHtml('<a href="java\tscript:alert(1)">Open</a>'),
    quiet: plainHtml('<a href="https://www.example.com/javascript:guide">Open</a>'),
  },
  URL_USERINFO: {
    fires: { raw: mail({}, 'Sign in: http://account.example.com@www.example.net/login') },
    quiet: { raw: mail({}, 'Sign in: https://www.example.com/login?user=alice@example.org') },
  },

  // MIME rules
  MIME_HTML_ONLY: { fires: { raw: htmlOnly(htmlWith('<p>Hello Bob</p>')) }, quiet: plainHtml('<p>Hello Bob</p>') },
  MIME_MISSING_VERSION: {
    fires: { raw: mail({ 'MIME-Version': null }) },
    quiet: { raw: mail({ 'MIME-Version': null, 'Content-Type': null }) },
  },
  MIME_BASE64_TEXT: {
    fires: { raw: mail({ 'Content-Transfer-Encoding': 'base64' }, Buffer.from('Hello Bob, the notes are below.').toString('base64')) },
    quiet: { raw: mail({ 'Content-Transfer-Encoding': 'quoted-printable' }, 'Hello Bob, the notes are below.') },
  },
  MIME_CHARSET_MISSING: {
    fires: { raw: mail({ 'Content-Type': 'text/plain', 'Content-Transfer-Encoding': '8bit' }, 'Caf\u00e9 opens at nine.') },
    quiet: { raw: mail({ 'Content-Type': 'text/plain; charset=utf-8', 'Content-Transfer-Encoding': '8bit' }, 'Caf\u00e9 opens at nine.') },
  },
  ATTACHMENT_RISKY_EXT: {
    fires: { raw: attached(attachment('setup.exe', 'application/octet-stream', CONTENT.exe)) },
    quiet: { raw: attached(attachment('report.pdf', 'application/pdf', CONTENT.pdf)) },
  },
  ATTACHMENT_DOUBLE_EXT: {
    fires: { raw: attached(attachment('invoice.pdf.exe', 'application/octet-stream', CONTENT.exe)) },
    quiet: { raw: attached(attachment('report.final.pdf', 'application/pdf', CONTENT.pdf)) },
  },
  ATTACHMENT_RTLO: {
    fires: { raw: attached(attachment(encodedWord('invoice\u202efdp.exe'), 'application/octet-stream', CONTENT.exe)) },
    quiet: { raw: attached(attachment(encodedWord('r\u00e9sum\u00e9.pdf'), 'application/pdf', CONTENT.pdf)) },
  },
  ATTACHMENT_TYPE_MISMATCH: {
    fires: { raw: attached(attachment('statement.dat', 'application/pdf', CONTENT.exe)) },
    quiet: { raw: attached(attachment('statement.dat', 'application/pdf', CONTENT.pdf)) },
  },
  ATTACHMENT_ARCHIVE: {
    fires: { raw: attached(attachment('files.zip', 'application/zip', CONTENT.zip)) },
    quiet: { raw: attached(attachment('report.docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', CONTENT.zip)) },
  },
  ATTACHMENT_HTML: {
    fires: { raw: attached(attachment('statement.html', 'text/html', CONTENT.html)) },
    quiet: { raw: attached(attachment('notes.txt', 'text/plain', CONTENT.text)) },
  },

  // Parser rules: the same message with a limit set below and at its default.
  PARSE_LIMIT_SIZE: { fires: { raw: mail(), limits: { maxMessageBytes: 400 } }, quiet: { raw: mail() } },
  PARSE_LIMIT_PARTS: {
    fires: { raw: attached(attachment('a.txt', 'text/plain', CONTENT.text)), limits: { maxParts: 2 } },
    quiet: { raw: attached(attachment('a.txt', 'text/plain', CONTENT.text)), limits: { maxParts: 3 } },
  },
  PARSE_LIMIT_DEPTH: { fires: { raw: nested(3), limits: { maxDepth: 2 } }, quiet: { raw: nested(3), limits: { maxDepth: 4 } } },
  PARSE_LIMIT_HEADERS: { fires: { raw: mail(), limits: { maxHeaders: 3 } }, quiet: { raw: mail() } },
  PARSE_LIMIT_HEADER_LENGTH: { fires: { raw: mail(), limits: { maxHeaderLength: 40 } }, quiet: { raw: mail() } },
  PARSE_LIMIT_HTML: { fires: { raw: htmlOnly(htmlWith(`<p>${LONG_TEXT}</p>`)), limits: { maxHtmlLength: 100 } }, quiet: { raw: htmlOnly(htmlWith(`<p>${LONG_TEXT}</p>`)) } },
  PARSE_LIMIT_LINKS: { fires: { raw: mail({}, links(3)), limits: { maxLinks: 2 } }, quiet: { raw: mail({}, links(3)) } },
  PARSE_WARNINGS: {
    fires: { raw: mail({ 'Content-Type': 'multipart/mixed' }, 'no parts here\n') },
    quiet: { raw: attached(attachment('a.txt', 'text/plain', CONTENT.text)) },
  },
};

/** Extra cases for the edges of single rules: [name, rule, sample, expected to fire]. */
export const EDGE_CASES: [string, string, Sample, boolean][] = [
  ['bare IP HELO', 'HELO_INVALID', { raw: mail(), envelope: { helo: '192.0.2.10' } }, true],
  ['qualified HELO', 'HELO_INVALID', { raw: mail(), envelope: { helo: 'mail.example.org' } }, false],
  ['Message-ID without @', 'INVALID_MESSAGE_ID', { raw: mail({ 'Message-ID': '<20020820.1234>' }) }, true],
  ['unreadable Date', 'INVALID_DATE', { raw: mail({ Date: 'sometime last week' }) }, true],
  ['empty Subject', 'SUBJECT_MISSING', { raw: mail({ Subject: '' }) }, true],
  ['From without address', 'FROM_MISSING', { raw: mail({ From: 'Alice Example' }) }, true],
  ['empty To', 'TO_UNDISCLOSED', { raw: mail({ To: '' }) }, true],
  ['missing To', 'TO_UNDISCLOSED', { raw: mail({ To: null }) }, true],
  ['list Reply-To', 'FROM_REPLYTO_DOMAIN_MISMATCH', { raw: mail({ 'Reply-To': 'users@example.net', 'List-Id': '<users.example.net>' }) }, false],
  ['envelope sender mismatch', 'RETURN_PATH_MISMATCH', { raw: mail(), envelope: { mailFrom: '<bounce@example.net>' } }, true],
  ['null envelope sender', 'RETURN_PATH_MISMATCH', { raw: mail({ 'Return-Path': '<>' }) }, false],
  ['free-mail Reply-To on a list', 'REPLYTO_FREEMAIL', { raw: mail({ 'Reply-To': 'author.example@gmail.com', 'List-Id': '<users.example.net>' }) }, false],
  ['many recipients on a list', 'MANY_RECIPIENTS', { raw: mail({ To: recipients(30), 'List-Id': '<users.example.net>' }) }, false],
  ['free-mail From and Reply-To', 'REPLYTO_FREEMAIL', { raw: mail({ From: 'a.example@gmail.com', 'Reply-To': 'b.example@gmail.com' }) }, false],
  ['styled letters', 'FROM_NAME_MIXED_SCRIPT', { raw: mail({ From: `${encodedWord('\uff30\uff41\uff59\uff50\uff41\uff4c')} <alice@example.org>` }) }, true],
  ['German reply prefix', 'SUBJECT_FAKE_REPLY', { raw: mail({ Subject: 'AW: Angebot' }) }, true],
  ['percent in Subject', 'SUBJECT_MONEY', { raw: mail({ Subject: 'Save 70% today' }) }, true],
  ['phrase in Subject', 'PHISHING_PHRASES', { raw: mail({ Subject: 'Your mailbox quota is exceeded' }) }, true],
  ['phrase inside a word', 'SPAM_PHRASES', { raw: mail({}, 'act nowhere; clicked hereafter; the winners limited timer') }, false],
  ['empty plain alternative', 'HTML_TEXT_MISMATCH', { raw: htmlMail(htmlWith(`<p>${words('offer', 30)}</p>`), '') }, true],
  ['data URL', 'URL_DANGEROUS_SCHEME', plainHtml('<a href="data:text/html;base64,PGgxPg==">Open</a>'), true],
  ['hex IP host', 'URL_IP_HOST', { raw: mail({}, 'See http://0xc6336407/login') }, true],
  ['IPv6 host', 'URL_IP_HOST', plainHtml('<a href="http://[2001:db8::1]/login">Log in</a>'), true],
  ['anchor text sentence', 'URL_ANCHOR_MISMATCH', plainHtml('<a href="https://www.example.net/">Read the example.com story</a>'), false],
  ['trailing dot extension', 'ATTACHMENT_RISKY_EXT', { raw: attached(attachment('setup.exe.', 'application/octet-stream', CONTENT.exe)) }, true],
  ['macro document', 'ATTACHMENT_RISKY_EXT', { raw: attached(attachment('budget.xlsm', 'application/vnd.ms-excel.sheet.macroenabled.12', CONTENT.zip)) }, true],
  ['executable named pdf', 'ATTACHMENT_TYPE_MISMATCH', { raw: attached(attachment('scan.pdf', 'application/octet-stream', CONTENT.exe)) }, true],
  ['generic declared type', 'ATTACHMENT_TYPE_MISMATCH', { raw: attached(attachment('scan.pdf', 'application/octet-stream', CONTENT.pdf)) }, false],
];
