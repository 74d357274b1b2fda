/**
 * Message templates: Handlebars files per locale, template, channel and part, in this folder
 * (`<locale>/<template>.<channel>[.<part>].hbs.txt`; the `.txt` keeps Prettier's Handlebars formatter away
 * from whitespace that is part of the message). HTML parts are HTML-escaped by Handlebars; text,
 * SMS and push parts are plain text (escaping would show `&amp;` to the reader), with line breaks
 * removed from single-line parts so no variable can inject a header line. Templates are compiled in
 * strict mode: a variable the template needs but the event lacks is an error, not an empty string.
 *
 * Locale fallback: `de-AT` -> `de` -> `en`, per part.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import type { Channel } from '../domain/preferences.ts';
import type { TemplateName, TemplateVars } from '../domain/catalog.ts';

export const DEFAULT_LOCALE = 'en';
const TEMPLATE_DIR = import.meta.dirname;

export type Part = 'subject' | 'text' | 'html' | 'sms' | 'title' | 'body';

export interface RenderedMessage {
  channel: Channel;
  locale: string;
  /** E-mail subject or push title. */
  subject: string | null;
  /** Plain-text body (e-mail text part, SMS text, push body). */
  text: string;
  /** E-mail HTML part. */
  html: string | null;
}

export class TemplateMissingError extends Error {
  override name = 'TemplateMissingError';
}

type Compiled = Handlebars.TemplateDelegate;

/** `<locale>/<template>.<channel>.<part>.hbs.txt` -> key `<locale>/<template>.<channel>.<part>` (SMS: `.sms`). */
function fileKey(locale: string, fileName: string): string {
  return `${locale}/${fileName.replace(/\.hbs\.txt$/, '')}`;
}

export function localeChain(locale: string | null | undefined): string[] {
  const clean = (locale ?? '').toLowerCase();
  const chain: string[] = [];
  if (/^[a-z]{2,3}(-[a-z0-9]{2,8})*$/.test(clean)) {
    const parts = clean.split('-');
    for (let i = parts.length; i >= 1; i -= 1) chain.push(parts.slice(0, i).join('-'));
  }
  if (!chain.includes(DEFAULT_LOCALE)) chain.push(DEFAULT_LOCALE);
  return chain;
}

function singleLine(text: string): string {
  return text
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
}

export interface TemplateRenderer {
  render(
    template: TemplateName,
    channel: Channel,
    locale: string | null | undefined,
    vars: TemplateVars,
  ): RenderedMessage;
  /** Whether `template` has a part for `channel` (in the default locale at least). */
  supports(template: TemplateName, channel: Channel): boolean;
}

export function createTemplateRenderer(dir: string = TEMPLATE_DIR): TemplateRenderer {
  const hbs = Handlebars.create();
  hbs.registerHelper('datetime', function (this: unknown, value: unknown, options: Handlebars.HelperOptions) {
    const lang = (options.data as { root?: { lang?: string } } | undefined)?.root?.lang ?? DEFAULT_LOCALE;
    if (typeof value !== 'string') return '';
    const at = new Date(value);
    if (Number.isNaN(at.getTime())) return value;
    try {
      return `${new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }).format(at)} UTC`;
    } catch {
      return at.toISOString();
    }
  });

  const compiled = new Map<string, Compiled>();
  const footers = new Map<string, string>();
  const locales = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  for (const locale of locales) {
    for (const file of readdirSync(join(dir, locale))) {
      const source = readFileSync(join(dir, locale, file), 'utf8');
      if (file === 'footer.txt') {
        footers.set(locale, source.trim());
        continue;
      }
      if (!file.endsWith('.hbs.txt')) continue;
      const html = file.endsWith('.html.hbs.txt');
      compiled.set(fileKey(locale, file), hbs.compile(source, { strict: true, noEscape: !html }));
    }
  }
  const layout = hbs.compile(readFileSync(join(dir, 'layout.html.hbs.txt'), 'utf8'), { strict: true });

  const find = (
    chain: readonly string[],
    template: string,
    suffix: string,
  ): { fn: Compiled; locale: string } | undefined => {
    for (const locale of chain) {
      const fn = compiled.get(`${locale}/${template}.${suffix}`);
      if (fn) return { fn, locale };
    }
    return undefined;
  };

  const need = (
    chain: readonly string[],
    template: string,
    suffix: string,
  ): { fn: Compiled; locale: string } => {
    const found = find(chain, template, suffix);
    if (!found)
      throw new TemplateMissingError(`no template ${template}.${suffix} for locales ${chain.join(', ')}`);
    return found;
  };

  return {
    supports(template, channel) {
      const suffix = channel === 'email' ? 'email.text' : channel === 'sms' ? 'sms' : 'push.body';
      return compiled.has(`${DEFAULT_LOCALE}/${template}.${suffix}`);
    },
    render(template, channel, locale, vars) {
      const chain = localeChain(locale);
      if (channel === 'email') {
        const text = need(chain, template, 'email.text');
        // Parts come from one locale: the one that has the text part.
        const lang = text.locale;
        const context = { ...vars, lang };
        const own = [lang, ...chain.filter((l) => l !== lang)];
        const subject = singleLine(need(own, template, 'email.subject').fn(context));
        const htmlPart = find(own, template, 'email.html');
        const html = htmlPart
          ? layout({
              lang,
              subject,
              content: htmlPart.fn(context),
              footer: footers.get(lang) ?? footers.get(DEFAULT_LOCALE) ?? '',
            })
          : null;
        return { channel, locale: lang, subject, text: text.fn(context).trim(), html };
      }
      if (channel === 'sms') {
        const sms = need(chain, template, 'sms');
        return {
          channel,
          locale: sms.locale,
          subject: null,
          text: singleLine(sms.fn({ ...vars, lang: sms.locale })),
          html: null,
        };
      }
      const body = need(chain, template, 'push.body');
      const context = { ...vars, lang: body.locale };
      const title = need([body.locale, ...chain], template, 'push.title');
      return {
        channel,
        locale: body.locale,
        subject: singleLine(title.fn(context)),
        text: singleLine(body.fn(context)),
        html: null,
      };
    },
  };
}
