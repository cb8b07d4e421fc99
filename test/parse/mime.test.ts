import { describe, expect, test } from 'vitest';
import { splitHeaderBlock, walkMime, type MimeWalkLimits } from '../../src/parse/mime.js';
import { sniffContentType } from '../../src/parse/sniff.js';
import { multipart, textPart } from './build.js';

const WIDE: MimeWalkLimits = { maxParts: 100, maxDepth: 10, maxHeaderLines: 100 };

describe('splitHeaderBlock', () => {
  test.each([
    ['CRLF', 'A: 1\r\nB: 2\r\n\r\nbody', 'A: 1\r\nB: 2', 'body'],
    ['LF', 'A: 1\nB: 2\n\nbody', 'A: 1\nB: 2', 'body'],
    ['LF then CRLF', 'A: 1\n\r\nbody', 'A: 1', 'body'],
    ['CRLF then LF', 'A: 1\r\n\nbody', 'A: 1', 'body'],
    ['leading empty line', '\r\nbody\r\n\r\nmore', '', 'body\r\n\r\nmore'],
    ['no empty line', 'A: 1\r\nB: 2', 'A: 1\r\nB: 2', ''],
    ['empty input', '', '', ''],
  ])('%s', (_name, raw, header, body) => {
    const split = splitHeaderBlock(raw);
    expect(split.header).toBe(header);
    expect(raw.slice(split.bodyStart)).toBe(body);
  });

  test('starts at an offset', () => {
    const raw = 'skip\r\nA: 1\r\n\r\nbody';
    const split = splitHeaderBlock(raw, 6);
    expect(split.header).toBe('A: 1');
    expect(raw.slice(split.bodyStart)).toBe('body');
  });
});

describe('walkMime', () => {
  const three = multipart('mixed', 'w', [textPart('one'), textPart('two'), textPart('three')]);

  test('walks every part', () => {
    const walk = walkMime(three, WIDE);
    expect(walk.parts.map((part) => `${part.contentType}@${part.depth}`)).toEqual(['multipart/mixed@0', 'text/plain@1', 'text/plain@1', 'text/plain@1']);
    expect(walk.parts[1]?.size).toBe('one'.length);
    expect(walk.cutAt).toBe(-1);
  });

  test('part limit cuts before the delimiter line', () => {
    const walk = walkMime(three, { ...WIDE, maxParts: 3 });
    expect(walk.partsLimitHit).toBe(true);
    expect(three.slice(0, walk.cutAt).endsWith('two')).toBe(true);
  });

  test('depth limit keeps the multipart header and preamble', () => {
    const nested = multipart('mixed', 'outer', [multipart('alternative', 'inner', [textPart('deep')])]);
    const walk = walkMime(nested, { ...WIDE, maxDepth: 1 });
    expect(walk.depthLimitHit).toBe(true);
    expect(walk.parts.map((part) => part.contentType)).toEqual(['multipart/mixed', 'multipart/alternative']);
    const keptText = nested.slice(0, walk.cutAt);
    expect(keptText.endsWith('Content-Type: multipart/alternative; boundary="inner"\r\n\r\n')).toBe(true);
  });

  test('header line limit cuts before the part', () => {
    const raw = multipart('mixed', 'w', [textPart('one'), `X-A: 1\r\nX-B: 2\r\n${textPart('two')}`]);
    const walk = walkMime(raw, { ...WIDE, maxHeaderLines: 2 });
    expect(walk.headerLinesLimitHit).toBe(true);
    expect(walk.parts).toHaveLength(2);
    expect(raw.slice(0, walk.cutAt).endsWith('one')).toBe(true);
  });

  test('delimiter with trailing whitespace', () => {
    const raw = 'Content-Type: multipart/mixed; boundary=w\r\n\r\n--w  \r\n\r\none\r\n--w--\t\r\n';
    expect(walkMime(raw, WIDE).parts).toHaveLength(2);
  });

  test('transfer encoding comment is removed', () => {
    const raw = 'Content-Type: text/plain\r\nContent-Transfer-Encoding: Base64 (encoded by example.com)\r\n\r\naGk=';
    expect(walkMime(raw, WIDE).parts[0]?.transferEncoding).toBe('base64');
  });

  test('boundary comment is ignored', () => {
    const raw = 'Content-Type: multipart/mixed; boundary=w (a comment)\r\n\r\n--w\r\n\r\none\r\n--w--\r\n';
    const walk = walkMime(raw, WIDE);
    expect(walk.parts).toHaveLength(2);
    expect(walk.brokenMultiparts).toBe(0);
  });

  test('attachment without Content-Type gets a type from its file name', () => {
    const raw = 'Content-Type: multipart/mixed; boundary=w\r\n\r\n--w\r\nContent-Disposition: attachment; filename="a.pdf"\r\n\r\nx\r\n--w\r\nContent-Disposition: attachment\r\n\r\ny\r\n--w--\r\n';
    expect(walkMime(raw, WIDE).parts.map((part) => part.contentType)).toEqual(['multipart/mixed', 'application/pdf', 'application/octet-stream']);
  });

  test('attached message/rfc822 is a leaf', () => {
    const raw = 'Content-Type: multipart/mixed; boundary=w\r\n\r\n--w\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\nSubject: x\r\n\r\ny\r\n--w--\r\n';
    expect(walkMime(raw, WIDE).parts.map((part) => part.contentType)).toEqual(['multipart/mixed', 'message/rfc822']);
  });

  test('8-bit file name is read as UTF-8', () => {
    const raw = Buffer.from('Content-Type: application/octet-stream; name="résumé.pdf"\r\n\r\nx', 'utf8').toString('latin1');
    expect(walkMime(raw, WIDE).parts[0]?.filename).toBe('résumé.pdf');
  });
});

describe('sniffContentType', () => {
  const iso = Buffer.alloc(0x8006);
  iso.write('CD001', 0x8001, 'latin1');

  test.each([
    ['MZ', Buffer.from('MZ\x90\x00', 'latin1'), 'application/x-msdownload'],
    ['ELF', Buffer.from('\x7fELF\x02', 'latin1'), 'application/x-elf'],
    ['PDF', Buffer.from('%PDF-1.7'), 'application/pdf'],
    ['ZIP', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14]), 'application/zip'],
    ['RAR', Buffer.from('Rar!\x1a\x07', 'latin1'), 'application/x-rar-compressed'],
    ['7z', Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0]), 'application/x-7z-compressed'],
    ['gzip', Buffer.from([0x1f, 0x8b, 8]), 'application/gzip'],
    ['OLE', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), 'application/x-cfb'],
    ['ISO', iso, 'application/x-iso9660-image'],
    ['PNG', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d]), 'image/png'],
    ['JPEG', Buffer.from([0xff, 0xd8, 0xff, 0xe0]), 'image/jpeg'],
    ['GIF', Buffer.from('GIF89a'), 'image/gif'],
    ['HTML', Buffer.from('<html><body>'), 'text/html'],
    ['doctype', Buffer.from('<!DOCTYPE html>'), 'text/html'],
    ['text', Buffer.from('hello'), ''],
    ['one byte', Buffer.from('M'), ''],
    ['empty', Buffer.alloc(0), ''],
  ])('%s', (_name, content, type) => {
    expect(sniffContentType(content)).toBe(type);
  });
});
