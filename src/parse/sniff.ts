/**
 * Content type from the first bytes of an attachment. The table covers the
 * formats that matter for mail risk (executables, archives, documents,
 * images); anything else sniffs as an empty string.
 */

interface Signature {
  type: string;
  offset: number;
  bytes: number[];
}

const SIGNATURES: Signature[] = [
  { type: 'application/x-msdownload', offset: 0, bytes: [0x4d, 0x5a] },
  { type: 'application/x-elf', offset: 0, bytes: [0x7f, 0x45, 0x4c, 0x46] },
  { type: 'application/pdf', offset: 0, bytes: [0x25, 0x50, 0x44, 0x46] },
  { type: 'application/zip', offset: 0, bytes: [0x50, 0x4b, 0x03, 0x04] },
  { type: 'application/x-rar-compressed', offset: 0, bytes: [0x52, 0x61, 0x72, 0x21] },
  { type: 'application/x-7z-compressed', offset: 0, bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] },
  { type: 'application/gzip', offset: 0, bytes: [0x1f, 0x8b] },
  { type: 'application/x-cfb', offset: 0, bytes: [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1] },
  { type: 'application/x-iso9660-image', offset: 0x8001, bytes: [0x43, 0x44, 0x30, 0x30, 0x31] },
  { type: 'image/png', offset: 0, bytes: [0x89, 0x50, 0x4e, 0x47] },
  { type: 'image/jpeg', offset: 0, bytes: [0xff, 0xd8, 0xff] },
  { type: 'image/gif', offset: 0, bytes: [0x47, 0x49, 0x46, 0x38] },
  { type: 'text/html', offset: 0, bytes: [0x3c, 0x68, 0x74, 0x6d, 0x6c] },
  { type: 'text/html', offset: 0, bytes: [0x3c, 0x21, 0x44, 0x4f, 0x43, 0x54, 0x59, 0x50, 0x45] },
];

export function sniffContentType(content: Uint8Array): string {
  for (const signature of SIGNATURES) {
    if (content.length < signature.offset + signature.bytes.length) continue;
    let matches = true;
    for (let index = 0; index < signature.bytes.length; index += 1) {
      if (content[signature.offset + index] !== signature.bytes[index]) {
        matches = false;
        break;
      }
    }
    if (matches) return signature.type;
  }
  return '';
}
