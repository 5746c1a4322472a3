import { describe, expect, it } from '@jest/globals';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../../config/env.js';
import { validateEnv } from '../../config/env.js';
import { PasswordPolicy } from './password-policy.service.js';

/** The policy under the given environment, defaults for the rest. */
function policyWith(env: Record<string, string> = {}): PasswordPolicy {
  return new PasswordPolicy(
    new ConfigService<AppConfig, true>(validateEnv(env)),
  );
}

/** NIST SP 800-63B-4 §3.1.1.2, as API.md applies it to `POST /users`. */
describe('PasswordPolicy.violation()', () => {
  const policy = policyWith();

  it('accepts a long passphrase of unrelated words', async () => {
    expect(await policy.violation('violet anchor drizzle pumpkin')).toBeNull();
  });

  describe('length: at least PASSWORD_MIN_LENGTH (15) Unicode code points after NFKC', () => {
    it('rejects 14 emoji although they are 56 bytes and 28 UTF-16 units', async () => {
      const emoji = '🦊🌵🎻🚲🧲🍋🪁🐙🌋🎲🧊🦉🍄🛶';

      expect(await policy.violation(emoji)).toBe(
        'password must be at least 15 characters; this one is 14',
      );
    });

    it('rejects 14 CJK characters although they are 42 bytes', async () => {
      expect(await policy.violation('春夏秋冬山川海空風雨雪月花星')).toMatch(
        /at least 15 characters/,
      );
    });

    it('counts a ligature as the letters NFKC turns it into', async () => {
      // 14 code points as typed; 'ﬁ' becomes 'fi', so 15 after NFKC.
      const typed = 'ﬁre walrus elk';

      expect([...typed].length).toBe(14);
      expect(await policy.violation(typed)).toBeNull();
    });
  });

  describe("size: at most 72 bytes in UTF-8 (bcrypt's limit)", () => {
    it('rejects 25 euro signs (75 bytes) with a message that says why, not silently', async () => {
      const violation = await policy.violation('€'.repeat(25));

      expect(violation).toMatch(/at most 72 bytes/);
      expect(violation).toMatch(/truncated/);
    });

    it('accepts a passphrase of exactly 72 bytes and rejects one of 73', async () => {
      const exactly72 =
        'lantern quiver basalt mosaic orbit tundra saffron ember walnut cobalt ax';
      expect(Buffer.byteLength(exactly72)).toBe(72);

      expect(await policy.violation(exactly72)).toBeNull();
      expect(await policy.violation(`${exactly72}e`)).toMatch(
        /at most 72 bytes/,
      );
    });
  });

  describe('not the username', () => {
    it('rejects the username itself, whatever its case', async () => {
      expect(
        await policy.violation('ALICE.WONDERLAND.X', 'alice.wonderland.x'),
      ).toBe('password must not be the username');
    });

    it('rejects the username in fullwidth forms that NFKC folds to it', async () => {
      expect(
        await policy.violation(
          'ａｌｉｃｅ.ｗｏｎｄｅｒｌａｎｄ.ｘ',
          'Alice.Wonderland.X',
        ),
      ).toBe('password must not be the username');
    });
  });

  describe('not common, breached or trivially guessable', () => {
    it.each([
      ['a dictionary password repeated', 'passwordpassword'],
      ['a digit sequence', '123456789012345'],
      ['one letter repeated', 'aaaaaaaaaaaaaaaa'],
      ['a keyboard row and a sequence', 'qwertyuiop123456'],
    ])('rejects %s (%s)', async (_kind, password) => {
      expect(await policy.violation(password)).toMatch(
        /^password is too easy to guess/,
      );
    });
  });

  describe('with PASSWORD_MIN_LENGTH=8 and no composition rules', () => {
    const relaxed = policyWith({ PASSWORD_MIN_LENGTH: '8' });

    it('accepts a passphrase of 12 characters that the default of 15 refuses', async () => {
      expect(await relaxed.violation('zebra orchid')).toBeNull();
      expect(await policy.violation('zebra orchid')).toMatch(/at least 15/);
    });

    it('accepts a lower-case passphrase with no digits or symbols', async () => {
      expect(await relaxed.violation('quokkabanjo')).toBeNull();
    });

    it.each(['8t8F%mb9', 'tZ@fApk4', '6GNrQ*oU', '3-&H=ld1'])(
      'accepts %s, random characters that zxcvbn can only brute-force, although it scores them below 3',
      async (password) => {
        expect(await relaxed.violation(password)).toBeNull();
      },
    );

    it.each([
      ['password1', /one of the most common passwords/],
      ['P@ssw0rd!', /one of the most common passwords/],
      ['aaaaaaaa', /repeats a character/],
      ['abcdefgh', /character sequence/],
      ['zxcvbnm,./', /keyboard pattern/],
      ['Xq7#v2019', /recent year/],
      ['alice2024', /contains the username; it contains a recent year/],
    ])('rejects %s, saying why', async (password, reason) => {
      const violation = await relaxed.violation(password, 'alice');

      expect(violation).toMatch(/^password is too easy to guess: /);
      expect(violation).toMatch(reason);
    });

    it('still rejects 7 characters', async () => {
      expect(await relaxed.violation('xq7 vbz')).toBe(
        'password must be at least 8 characters; this one is 7',
      );
    });
  });
});
