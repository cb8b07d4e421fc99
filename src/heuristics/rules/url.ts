import type { Link } from '../../parse/types.js';
import { countOf, defineRules, listSome, type RuleDefaults } from '../define.js';
import { isIpHost, isShortener, sameOrganisation } from '../../domains.js';

/** Rules on the links of a message: HTML anchors and URLs written in plain text. */

const DEFAULTS = {
  URL_IP_HOST: { score: 1.5, description: 'Link to a numeric IP address instead of a host name' },
  URL_SHORTENER: { score: 1.0, description: 'Link through a URL shortening service' },
  URL_ANCHOR_MISMATCH: { score: 1.5, description: 'Link text shows one domain but the link goes to another' },
  URL_PUNYCODE: { score: 1.0, description: 'Link to an internationalised (xn--) host name' },
  URL_MANY_LINKS: { score: 0.2, description: 'Unusually many links' },
  URL_DANGEROUS_SCHEME: { score: 2.0, description: 'Link with a data:, javascript:, vbscript: or file: URL' },
  URL_USERINFO: { score: 2.0, description: 'Link with a user name before the host (http://name@host/)' },
} satisfies Record<string, RuleDefaults>;

/** More links than this fire URL_MANY_LINKS. Newsletters commonly have 20 to 50. */
const MAX_LINKS = 50;


/** Schemes that run code or read local files instead of opening a web page. */
const DANGEROUS_SCHEME = /^(?:data|javascript|vbscript|file):/i;
/** Characters browsers strip from a URL before reading its scheme ("java\tscript:" still runs). */
const IGNORED_URL_CHARACTERS = /[\x00-\x20]/g;
const USERINFO = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@\s]*@/i;
/** Anchor text that is a URL or a domain name, such as "https://www.example.com/login" or "example.com". */
const DOMAIN_TEXT = /^([a-z][a-z0-9+.-]*:\/\/)?(?:[^\s@/]*@)?((?:[a-z0-9-]+\.)+([a-z]{2,63}))\.?(?::\d+)?(?:[/?#]\S*)?$/i;
/**
 * Top-level domains that make anchor text without a scheme or `www.` count
 * as a domain. Without the list, names such as "README.md" or "Node.js"
 * would read as domains.
 */
const COMMON_TLDS = new Set(['biz', 'ca', 'co', 'com', 'de', 'edu', 'eu', 'fr', 'gov', 'info', 'io', 'net', 'org', 'uk', 'us']);
/** Anchor text longer than this is a sentence, not a shown address. */
const MAX_ANCHOR_TEXT = 300;

/** Returns the host that the anchor text shows, or an empty string when the text is not a URL or domain. */
function displayedHost(link: Link): string {
  if (!link.fromHtml || link.text.length > MAX_ANCHOR_TEXT) return '';
  const match = DOMAIN_TEXT.exec(link.text.trim());
  if (match === null) return '';
  const host = (match[2] ?? '').toLowerCase();
  const hasScheme = match[1] !== undefined;
  if (!hasScheme && !host.startsWith('www.') && !COMMON_TLDS.has((match[3] ?? '').toLowerCase())) return '';
  return host;
}

function distinctHosts(links: readonly Link[], test: (link: Link) => boolean): string[] {
  const hosts = new Set<string>();
  for (const link of links) if (test(link)) hosts.add(link.host || link.url.slice(0, 60));
  return [...hosts];
}

export const URL_RULES = defineRules('url', DEFAULTS, {
  URL_IP_HOST: (context) => {
    const hosts = distinctHosts(context.message.links, (link) => isIpHost(link.host));
    return hosts.length === 0 ? false : listSome(hosts);
  },

  URL_SHORTENER: (context) => {
    const hosts = distinctHosts(context.message.links, (link) => isShortener(link.host));
    return hosts.length === 0 ? false : listSome(hosts);
  },

  URL_ANCHOR_MISMATCH: (context) => {
    for (const link of context.message.links) {
      const displayed = displayedHost(link);
      if (displayed === '' || link.host === '') continue;
      if (!sameOrganisation(displayed, link.host)) return `shows ${displayed}, links to ${link.host}`;
    }
    return false;
  },

  URL_PUNYCODE: (context) => {
    const hosts = distinctHosts(context.message.links, (link) => link.host.split('.').some((label) => label.startsWith('xn--')));
    return hosts.length === 0 ? false : listSome(hosts);
  },

  URL_MANY_LINKS: (context) => {
    const count = context.message.links.length;
    return count > MAX_LINKS ? countOf(count, 'link') : false;
  },

  URL_DANGEROUS_SCHEME: (context) => {
    const link = context.message.links.find((candidate) => DANGEROUS_SCHEME.test(candidate.url.replace(IGNORED_URL_CHARACTERS, '')));
    return link === undefined ? false : link.url.slice(0, 60);
  },

  URL_USERINFO: (context) => {
    const link = context.message.links.find((candidate) => USERINFO.test(candidate.url.trim()));
    return link === undefined ? false : link.url.slice(0, 80);
  },
});
