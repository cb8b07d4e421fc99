import type { Attachment } from '../../parse/types.js';
import type { RuleContext } from '../context.js';
import { defineRules, listSome, type RuleDefaults } from '../define.js';

/** Rules on the MIME structure and on attachments. */

const DEFAULTS = {
  MIME_HTML_ONLY: { score: 1.0, description: 'HTML body without a plain-text alternative' },
  MIME_MISSING_VERSION: { score: 0.2, description: 'MIME content without a MIME-Version header' },
  MIME_BASE64_TEXT: { score: 0.2, description: 'Plain-text body sent in base64' },
  MIME_CHARSET_MISSING: { score: 0.5, description: 'Non-ASCII plain text without a declared charset' },
  ATTACHMENT_RISKY_EXT: { score: 2.5, description: 'Attachment with an executable or risky file extension' },
  ATTACHMENT_DOUBLE_EXT: { score: 3.0, description: 'Attachment name hides a risky extension behind a document one' },
  ATTACHMENT_RTLO: { score: 3.0, description: 'Attachment name contains bidirectional control characters' },
  ATTACHMENT_TYPE_MISMATCH: { score: 1.5, description: 'Attachment content differs from its declared type or extension' },
  ATTACHMENT_ARCHIVE: { score: 0.5, description: 'Archive attachment' },
  ATTACHMENT_HTML: { score: 1.0, description: 'HTML file attached' },
} satisfies Record<string, RuleDefaults>;

/** Extensions that Windows or Office run, install, mount or open with macros. */
const RISKY_EXTENSIONS = new Set([
  'appx', 'bat', 'chm', 'cmd', 'com', 'cpl', 'docm', 'dotm', 'exe', 'gadget', 'hta', 'img', 'iso',
  'jar', 'js', 'jse', 'lnk', 'msi', 'msix', 'msp', 'pif', 'potm', 'ppam', 'pptm', 'ps1', 'reg',
  'scf', 'scr', 'vbe', 'vbs', 'vhd', 'vhdx', 'wsf', 'wsh', 'xlam', 'xlsm', 'xltm',
]);
/** Extensions of harmless-looking documents and images that a double extension puts first. */
const DECOY_EXTENSIONS = new Set([
  'bmp', 'csv', 'doc', 'docx', 'gif', 'htm', 'html', 'jpeg', 'jpg', 'mp3', 'mp4', 'odt', 'pdf',
  'png', 'ppt', 'pptx', 'rtf', 'tif', 'tiff', 'txt', 'xls', 'xlsx', 'zip',
]);
const ARCHIVE_EXTENSIONS = new Set(['7z', 'ace', 'arj', 'bz2', 'cab', 'gz', 'lz', 'lzh', 'r00', 'rar', 'tar', 'tgz', 'uue', 'xz', 'z', 'zip']);
const HTML_EXTENSIONS = new Set(['htm', 'html', 'mht', 'mhtml', 'shtml', 'xhtml']);
/** Extensions that an executable sniffed from the content may legitimately have. */
const EXECUTABLE_EXTENSIONS = new Set(['bin', 'com', 'cpl', 'dll', 'drv', 'efi', 'exe', 'ocx', 'scr', 'so', 'sys']);

/** Declared types that carry no information about the content, so any sniffed type fits. */
const GENERIC_TYPES = new Set(['', 'application/octet-stream', 'application/unknown', 'binary/octet-stream', 'application/binary', 'application/force-download', 'application/x-download']);
/** Declared types that fit each sniffed type. */
const COMPATIBLE_TYPES: Readonly<Record<string, RegExp>> = {
  'application/x-msdownload': /^application\/(?:x-msdownload|x-msdos-program|x-dosexec|x-executable|x-ms-dos-executable|(?:x-)?exe|vnd\.microsoft\.portable-executable)$/,
  'application/x-elf': /^application\/(?:x-elf|x-executable|x-sharedlib)$/,
  'application/pdf': /^application\/(?:x-)?pdf$/,
  'application/zip': /^application\/(?:zip|x-zip|x-zip-compressed|x-compressed|(?:x-)?java-archive|epub\+zip|vnd\.openxmlformats-[a-z.-]+|vnd\.oasis\.opendocument\.[a-z.-]+|vnd\.ms-[a-z.-]+\.macroenabled\.12|vnd\.android\.package-archive|vnd\.ms-xpsdocument)$/,
  'application/x-rar-compressed': /^application\/(?:x-rar-compressed|x-rar|vnd\.rar)$/,
  'application/x-7z-compressed': /^application\/x-7z-compressed$/,
  'application/gzip': /^application\/(?:x-)?(?:gzip|gzip-compressed|gtar|tgz|compressed-tar|tar)$/,
  'application/x-cfb': /^application\/(?:msword|vnd\.ms-[a-z.-]+|x-msi|x-ole-storage|vnd\.visio|x-msexcel|x-mspowerpoint|x-cfb)$/,
  'application/x-iso9660-image': /^application\/(?:x-iso9660-image|x-cd-image)$/,
  'text/html': /^(?:text\/html|application\/xhtml\+xml)$/,
};

/** Unicode bidirectional embeddings, overrides and isolates, which can reverse how a name reads. */
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/;
const NON_ASCII = /[^\x00-\x7f]/;

/** Windows ignores trailing dots and spaces, so "invoice.exe. " runs as invoice.exe. */
function extensions(filename: string): string[] {
  const cleaned = filename.toLowerCase().replace(/[\s.]+$/, '');
  return cleaned.split('.').slice(1).map((extension) => extension.trim());
}

function lastExtension(filename: string): string {
  return extensions(filename).at(-1) ?? '';
}

function attachmentsWhere(context: RuleContext, test: (attachment: Attachment) => boolean): string | false {
  const names = context.message.attachments.filter(test).map((attachment) => attachment.filename || attachment.declaredType);
  return names.length === 0 ? false : listSome(names);
}

function typeMismatch(attachment: Attachment): string {
  const sniffed = attachment.sniffedType;
  const declared = attachment.declaredType;
  if (sniffed === '') return '';
  if (!GENERIC_TYPES.has(declared) && declared !== sniffed && !fitsDeclaredType(declared, sniffed)) {
    return `declared ${declared}, content is ${sniffed}`;
  }
  const isExecutable = sniffed === 'application/x-msdownload' || sniffed === 'application/x-elf';
  const extension = lastExtension(attachment.filename);
  if (isExecutable && extension !== '' && !EXECUTABLE_EXTENSIONS.has(extension)) return `.${extension} file is ${sniffed}`;
  return '';
}

function fitsDeclaredType(declared: string, sniffed: string): boolean {
  // Images labelled with the wrong image type are common and harmless.
  if (declared.startsWith('image/') && sniffed.startsWith('image/')) return true;
  return COMPATIBLE_TYPES[sniffed]?.test(declared) ?? false;
}

function isArchive(attachment: Attachment): boolean {
  if (ARCHIVE_EXTENSIONS.has(lastExtension(attachment.filename))) return true;
  const sniffed = attachment.sniffedType;
  if (sniffed === 'application/x-rar-compressed' || sniffed === 'application/x-7z-compressed' || sniffed === 'application/gzip') return true;
  // A zip container is also an Office or OpenDocument file; only a declared zip counts as an archive.
  return sniffed === 'application/zip' && /zip|compressed/.test(attachment.declaredType);
}

function bodyParts(context: RuleContext, contentType: string): number {
  return context.message.parts.filter((part) => part.contentType === contentType && part.disposition !== 'attachment' && part.filename === '').length;
}

export const MIME_RULES = defineRules('mime', DEFAULTS, {
  MIME_HTML_ONLY: (context) => bodyParts(context, 'text/html') > 0 && bodyParts(context, 'text/plain') === 0,

  MIME_MISSING_VERSION: (context) => {
    if (context.hasHeader('mime-version')) return false;
    return context.hasHeader('content-type') || context.hasHeader('content-transfer-encoding');
  },

  MIME_BASE64_TEXT: (context) =>
    context.message.parts.some((part) => part.contentType === 'text/plain' && part.transferEncoding === 'base64' && part.disposition !== 'attachment'),

  MIME_CHARSET_MISSING: (context) => {
    const undeclared = context.message.parts.some((part) => part.contentType === 'text/plain' && part.charset === '' && part.disposition !== 'attachment');
    return undeclared && NON_ASCII.test(context.text);
  },

  ATTACHMENT_RISKY_EXT: (context) => attachmentsWhere(context, (attachment) => RISKY_EXTENSIONS.has(lastExtension(attachment.filename))),

  ATTACHMENT_DOUBLE_EXT: (context) =>
    attachmentsWhere(context, (attachment) => {
      const list = extensions(attachment.filename);
      const last = list.at(-1) ?? '';
      const previous = list.at(-2) ?? '';
      return list.length >= 2 && DECOY_EXTENSIONS.has(previous) && (RISKY_EXTENSIONS.has(last) || EXECUTABLE_EXTENSIONS.has(last));
    }),

  ATTACHMENT_RTLO: (context) => {
    const attachment = context.message.attachments.find((candidate) => BIDI_CONTROL.test(candidate.filename));
    return attachment === undefined ? false : attachment.filename;
  },

  ATTACHMENT_TYPE_MISMATCH: (context) => {
    for (const attachment of context.message.attachments) {
      const mismatch = typeMismatch(attachment);
      if (mismatch !== '') return attachment.filename === '' ? mismatch : `${attachment.filename}: ${mismatch}`;
    }
    return false;
  },

  ATTACHMENT_ARCHIVE: (context) => attachmentsWhere(context, isArchive),

  ATTACHMENT_HTML: (context) =>
    attachmentsWhere(context, (attachment) => HTML_EXTENSIONS.has(lastExtension(attachment.filename)) || attachment.declaredType === 'text/html'),
});
