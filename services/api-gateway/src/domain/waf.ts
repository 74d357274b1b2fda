/**
 * The gateway's small WAF: request shape limits and a rule set against common SQL injection, XSS,
 * command injection and traversal payloads in query and body strings. Pure functions (no I/O), so the
 * attack and legitimate corpora test them directly and through the running gateway.
 *
 * Written by hand, deliberately small: Coraza/ModSecurity CRS is the reference, but it runs in Go or
 * as an Envoy/nginx module, and this platform has no such proxy in its embedded mode. The rules aim at
 * what a JSON API receives; fields that carry secrets (passwords) are not scanned, as CRS exclusions do.
 */

export interface WafRule {
  id: string;
  category: 'sqli' | 'xss' | 'cmdi' | 'traversal' | 'injection';
  description: string;
  pattern: RegExp;
}

const SHELL_COMMANDS =
  'cat|ls|id|whoami|uname|wget|curl|nc|ncat|telnet|bash|sh|zsh|python[23]?|perl|ruby|php|rm|chmod|chown|ping|nslookup|powershell|cmd(?:\\.exe)?|echo';

export const WAF_RULES: readonly WafRule[] = [
  {
    id: 'sqli-001',
    category: 'sqli',
    description: 'quote-terminated boolean tautology',
    pattern: /['"`]\s*\)?\s*(?:or|and|\|\||&&)\s+['"`(]?\s*\w*\s*['"`]?\s*(?:=|<>|!=|<|>|\blike\b|\bis\b)/i,
  },
  {
    id: 'sqli-002',
    category: 'sqli',
    description: 'numeric tautology',
    pattern: /\b(?:or|and)\s+(\d+)\s*=\s*\1\b/i,
  },
  {
    id: 'sqli-003',
    category: 'sqli',
    description: 'UNION-based query',
    pattern: /\bunion\b(?:\s|\/\*.*?\*\/)+(?:all\s+|distinct\s+)?select\b/i,
  },
  {
    id: 'sqli-004',
    category: 'sqli',
    description: 'stacked query',
    pattern:
      /;\s*(?:drop|delete|insert|update|alter|create|truncate|exec(?:ute)?|shutdown|grant|revoke)\s+(?:table|database|from|into|schema|user|role|\w+\s+set|\w+\s*\()/i,
  },
  {
    id: 'sqli-005',
    category: 'sqli',
    description: 'quote followed by a comment',
    pattern: /['"`]\s*\)?\s*(?:--|#|\/\*)/,
  },
  {
    id: 'sqli-006',
    category: 'sqli',
    description: 'time-based or out-of-band function',
    pattern:
      /\b(?:pg_sleep|sleep|benchmark|dbms_pipe\.receive_message|load_file|extractvalue|updatexml)\s*\(|\bwaitfor\s+delay\b|\binto\s+(?:out|dump)file\b/i,
  },
  {
    id: 'sqli-007',
    category: 'sqli',
    description: 'catalogue or dangerous procedure',
    pattern: /\b(?:information_schema|pg_catalog|pg_shadow|sysobjects|xp_cmdshell|sp_executesql)\b/i,
  },
  { id: 'xss-001', category: 'xss', description: 'script element', pattern: /<\s*\/?\s*script\b/i },
  {
    id: 'xss-002',
    category: 'xss',
    description: 'event-handler attribute in markup',
    pattern: /<[^>]*[\s/"'](?:on[a-z]{3,})\s*=/i,
  },
  {
    id: 'xss-003',
    category: 'xss',
    description: 'script URI scheme',
    pattern: /\b(?:javascript|vbscript|livescript)\s*:|\bdata\s*:\s*text\/html/i,
  },
  {
    id: 'xss-004',
    category: 'xss',
    description: 'active-content element',
    pattern:
      /<\s*(?:iframe|frame|object|embed|svg|math|base|link|meta|style|applet|form|img|video|audio|body|input)\b[^>]*>?/i,
  },
  {
    id: 'xss-005',
    category: 'xss',
    description: 'script expression',
    pattern: /\bexpression\s*\(|\bdocument\.(?:cookie|domain|write)\b|\bwindow\.location\b/i,
  },
  {
    id: 'cmdi-001',
    category: 'cmdi',
    description: 'shell separator followed by a command',
    pattern: new RegExp(
      String.raw`(?:;|&&?|\|\|?|\$\()\s*(?:${SHELL_COMMANDS})(?=\s+[-/~.$'"]|\s*[\x60)]|\s*$|\s*[;|&])`,
      'i',
    ),
  },
  {
    id: 'cmdi-004',
    category: 'cmdi',
    description: 'pipe into a command',
    pattern: new RegExp(String.raw`\|\s*(?:${SHELL_COMMANDS})\s+\S`, 'i'),
  },
  {
    id: 'cmdi-002',
    category: 'cmdi',
    description: 'command substitution',
    pattern: /\$\(\s*[a-z/][^)]*\)|`\s*[a-z/][^`]*`/i,
  },
  {
    id: 'cmdi-003',
    category: 'cmdi',
    description: 'sensitive system path',
    pattern: /\/etc\/(?:passwd|shadow|hosts)\b|\/bin\/(?:ba|z|da)?sh\b|\bcmd\.exe\b|\/proc\/self\//i,
  },
  {
    id: 'inj-001',
    category: 'injection',
    description: 'JNDI / template lookup',
    pattern: /\$\{\s*(?:jndi|env|sys|java|lower|upper)\s*:|\{\{.*\}\}|<%.*%>/i,
  },
  {
    id: 'trav-001',
    category: 'traversal',
    description: 'path traversal',
    pattern: /(?:^|[\\/])\.\.(?:[\\/]|$)|\.\.%2f|%2e%2e/i,
  },
];

/** Field names whose values are secrets: never matched against payload rules (a password may be anything). */
const UNSCANNED_FIELDS = new Set(['password', 'newPassword', 'currentPassword']);

export interface WafBlock {
  status: 400 | 405 | 413 | 414 | 415 | 431;
  ruleId: string;
  detail: string;
  /** Where the offending value was (e.g. `body.description`); never the value itself. */
  location?: string;
}

export interface WafLimits {
  maxBodyBytes: number;
  maxJsonDepth: number;
  maxJsonKeys: number;
  maxArrayLength: number;
  maxStringLength: number;
  maxHeaderBytes: number;
  maxUrlLength: number;
}

export const ALLOWED_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'OPTIONS',
]);

export function checkMethod(method: string): WafBlock | undefined {
  if (ALLOWED_METHODS.has(method)) return undefined;
  return { status: 405, ruleId: 'method-001', detail: `Method ${method} is not allowed.` };
}

/** Total size of the request's header lines (name + value), what an attacker can inflate. */
export function checkHeaderSize(
  rawHeaders: readonly string[],
  limits: Pick<WafLimits, 'maxHeaderBytes'>,
): WafBlock | undefined {
  let total = 0;
  for (const part of rawHeaders) total += Buffer.byteLength(part) + 2;
  if (total <= limits.maxHeaderBytes) return undefined;
  return { status: 431, ruleId: 'header-001', detail: 'Request headers are too large.' };
}

const SAFE_PATH = /^\/[A-Za-z0-9/._~-]*$/;

/**
 * Normalises the raw request target's path. Our public paths need no percent-encoding at all, so any
 * `%` is refused (no double decoding, no encoded slashes or dots); so are dot segments, empty segments
 * and backslashes. A single trailing slash is dropped.
 */
export function normalisePath(
  rawUrl: string,
  limits: Pick<WafLimits, 'maxUrlLength'>,
): { path: string } | { block: WafBlock } {
  if (rawUrl.length > limits.maxUrlLength) {
    return { block: { status: 414, ruleId: 'path-000', detail: 'The request URL is too long.' } };
  }
  const rawPath = rawUrl.split('?', 1)[0] ?? '';
  if (rawPath.includes('%')) {
    return {
      block: {
        status: 400,
        ruleId: 'path-001',
        detail: 'Percent-encoded characters are not allowed in the path.',
      },
    };
  }
  if (!SAFE_PATH.test(rawPath)) {
    return {
      block: {
        status: 400,
        ruleId: 'path-002',
        detail: 'The path contains characters that are not allowed.',
      },
    };
  }
  const segments = rawPath.split('/').slice(1);
  const trimmed = segments.length > 1 && segments.at(-1) === '' ? segments.slice(0, -1) : segments;
  for (const segment of trimmed) {
    if (segment === '' && trimmed.length > 1) {
      return { block: { status: 400, ruleId: 'path-003', detail: 'Empty path segments are not allowed.' } };
    }
    if (segment === '.' || segment === '..') {
      return {
        block: { status: 400, ruleId: 'path-004', detail: 'Dot segments are not allowed in the path.' },
      };
    }
  }
  return { path: `/${trimmed.join('/')}` };
}

/** Requests with a body must send JSON (UTF-8); GET/HEAD/DELETE carry none. */
export function checkContentType(
  method: string,
  contentType: string | undefined,
  hasBody: boolean,
): WafBlock | undefined {
  if (!hasBody) return undefined;
  if (method === 'GET' || method === 'HEAD' || method === 'DELETE' || method === 'OPTIONS') {
    return { status: 400, ruleId: 'body-001', detail: `A ${method} request must not carry a body.` };
  }
  const [mediaType, ...params] = (contentType ?? '').split(';').map((s) => s.trim().toLowerCase());
  if (mediaType !== 'application/json') {
    return {
      status: 415,
      ruleId: 'content-type-001',
      detail: 'Only application/json request bodies are accepted.',
    };
  }
  for (const param of params) {
    if (param.startsWith('charset=') && param !== 'charset=utf-8' && param !== 'charset="utf-8"') {
      return { status: 415, ruleId: 'content-type-002', detail: 'Only UTF-8 request bodies are accepted.' };
    }
  }
  return undefined;
}

/** Depth, width and size limits of a parsed JSON body. */
/**
 * U+0000 in a JSON string: PostgreSQL's text and jsonb cannot hold it, so every service behind the
 * gateway would fail on it with a 500 (found by fuzzing: an adjustment `reason`). Refused at the door.
 */
function nulBlock(location: string): WafBlock {
  return { status: 400, ruleId: 'json-006', detail: 'A JSON string contains a NUL character.', location };
}

export function checkJsonShape(value: unknown, limits: WafLimits): WafBlock | undefined {
  const visit = (node: unknown, depth: number, location: string): WafBlock | undefined => {
    if (depth > limits.maxJsonDepth) {
      return {
        status: 400,
        ruleId: 'json-001',
        detail: `JSON nested deeper than ${limits.maxJsonDepth} levels.`,
        location,
      };
    }
    if (typeof node === 'string') {
      if (node.length > limits.maxStringLength) {
        return { status: 400, ruleId: 'json-004', detail: 'A JSON string is too long.', location };
      }
      if (node.includes('\u0000')) return nulBlock(location);
      return undefined;
    }
    if (Array.isArray(node)) {
      if (node.length > limits.maxArrayLength) {
        return { status: 400, ruleId: 'json-003', detail: 'A JSON array has too many items.', location };
      }
      for (let i = 0; i < node.length; i++) {
        const found = visit(node[i], depth + 1, `${location}[${i}]`);
        if (found) return found;
      }
      return undefined;
    }
    if (node !== null && typeof node === 'object') {
      const keys = Object.keys(node);
      if (keys.length > limits.maxJsonKeys) {
        return { status: 400, ruleId: 'json-002', detail: 'A JSON object has too many members.', location };
      }
      for (const key of keys) {
        if (key.length > 128)
          return { status: 400, ruleId: 'json-005', detail: 'A JSON member name is too long.', location };
        if (key.includes('\u0000')) return nulBlock(location);
        const found = visit((node as Record<string, unknown>)[key], depth + 1, `${location}.${key}`);
        if (found) return found;
      }
    }
    return undefined;
  };
  return visit(value, 1, 'body');
}

function variantsOf(value: string): string[] {
  const variants = [value];
  // Catch payloads a client (or a downstream decoder) would decode once more.
  if (/%[0-9a-f]{2}/i.test(value)) {
    try {
      variants.push(decodeURIComponent(value));
    } catch {
      variants.push(
        value.replace(/%([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
      );
    }
  }
  if (/&(?:#x?[0-9a-f]+|lt|gt|quot|apos|amp);/i.test(value)) {
    variants.push(
      value
        .replace(/&#x([0-9a-f]+);?/gi, (_m, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
        .replace(/&#(\d+);?/g, (_m, dec: string) => String.fromCodePoint(Number(dec)))
        .replace(/&lt;/gi, '<')
        .replace(/&gt;/gi, '>')
        .replace(/&quot;/gi, '"')
        .replace(/&apos;/gi, "'")
        .replace(/&amp;/gi, '&'),
    );
  }
  return variants;
}

/** The first rule a string value breaks, if any. */
export function matchRules(value: string): WafRule | undefined {
  // Strip NULs and collapse SQL inline comments used to split keywords (`UN/**/ION`).
  for (const variant of variantsOf(value)) {
    const withoutNul = variant.replace(/\0/g, '');
    const spaced = withoutNul.replace(/\/\*!?\d*\s*\*\//g, ' ');
    const joined = withoutNul.replace(/\/\*!?\d*\s*\*\//g, '');
    for (const rule of WAF_RULES) if (rule.pattern.test(spaced) || rule.pattern.test(joined)) return rule;
  }
  return undefined;
}

/** Scans every string (keys included) of a query or body, skipping secret fields. */
export function scanPayload(value: unknown, location: string): WafBlock | undefined {
  const visit = (node: unknown, where: string, key: string | undefined): WafBlock | undefined => {
    if (key !== undefined && UNSCANNED_FIELDS.has(key)) return undefined;
    if (typeof node === 'string') {
      const rule = matchRules(node);
      return rule
        ? {
            status: 400,
            ruleId: rule.id,
            detail: 'The request was blocked by a security rule.',
            location: where,
          }
        : undefined;
    }
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const found = visit(node[i], `${where}[${i}]`, undefined);
        if (found) return found;
      }
      return undefined;
    }
    if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        const keyRule = matchRules(k);
        if (keyRule)
          return {
            status: 400,
            ruleId: keyRule.id,
            detail: 'The request was blocked by a security rule.',
            location: where,
          };
        const found = visit(v, `${where}.${k}`, k);
        if (found) return found;
      }
    }
    return undefined;
  };
  return visit(value, location, undefined);
}
