/** Password rules of ASVS 5.0 L2 chapter 6 that need no database (the README's ASVS table names these). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkPasswordPolicy } from '../../src/domain/password-policy.ts';
import { createBreachedPasswordList } from '../../src/security/breached-passwords.ts';

describe('password rules (ASVS 6.2.x)', () => {
  it('permits passwords of 64 characters and more, up to 128, of any composition (6.2.5, 6.2.9)', () => {
    const sixtyFour = 'Tq8#vL2!mZ9@rW4$kN7%pX3^bH6&cJ1*dF5(gS0)eY8-uA2+iO4=oE7~nR9?tUzz';
    expect([...sixtyFour]).toHaveLength(64);
    expect(checkPasswordPolicy(sixtyFour)).toEqual({ ok: true });
    const longest = `${sixtyFour}${[...sixtyFour].reverse().join('').toUpperCase()}`;
    expect(checkPasswordPolicy(longest)).toEqual({ ok: true });
    expect(checkPasswordPolicy(`${longest}q`)).toMatchObject({ ok: false });
    expect(checkPasswordPolicy('38 29475610384756192837465019283746')).toEqual({ ok: true });
    expect(checkPasswordPolicy('ÄÖÜ ßéè ñ 漢字 かな 🙂 salt-and-pepper-99')).toEqual({ ok: true });
  });

  it("refuses passwords made of the service's own words (6.2.11), not others", () => {
    for (const p of ['WalletLedger2026!', 'walletidentity99', 'my-wallet-payout-12'])
      expect(checkPasswordPolicy(p)).toEqual({
        ok: false,
        reason: 'is made mostly of words about this service; add words of your own',
      });
    expect(checkPasswordPolicy('my wallet is a violet harbour cactus')).toMatchObject({ ok: true });
  });
});

describe('breached-password list (ASVS 6.2.12)', () => {
  const bundled = createBreachedPasswordList();

  it('finds passwords of the bundled breach corpus that the other rules accept', async () => {
    for (const p of ['xxPa33bq.aDNA', 'internacional', 'mishaoooyeah']) {
      expect(checkPasswordPolicy(p)).toMatchObject({ ok: true });
      expect(await bundled.isBreached(p)).toBe(true);
    }
    // Lower-case forms of the corpus count too (people capitalise a breached password).
    expect(await bundled.isBreached('INTERNACIONAL')).toBe(true);
    expect(await bundled.isBreached('violet-harbour-cactus-49-lantern')).toBe(false);
  });

  it('reads any HIBP-layout directory (5-digit prefixes, SUFFIX:COUNT lines) with no network', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hibp-'));
    const hash = createHash('sha1').update('a-password-from-a-breach', 'utf8').digest('hex').toUpperCase();
    writeFileSync(
      join(dir, `${hash.slice(0, 5)}.txt`),
      `0000000000000000000000000000000000A:3\r\n${hash.slice(5)}:17\r\n`,
    );
    const list = createBreachedPasswordList(dir);
    expect(await list.isBreached('a-password-from-a-breach')).toBe(true);
    expect(await list.isBreached('another-password-entirely')).toBe(false);
    expect(() => createBreachedPasswordList(mkdtempSync(join(tmpdir(), 'empty-')))).toThrow(/no range files/);
  });
});
