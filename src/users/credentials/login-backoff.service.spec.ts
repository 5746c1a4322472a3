import {
  afterEach,
  beforeEach,
  describe,
  expect,
  it,
  jest,
} from '@jest/globals';
import type { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../../config/env.js';
import { RateLimiters } from '../../rate-limiting/rate-limiters.service.js';
import { LoginBackoff } from './login-backoff.service.js';

const SETTINGS: Partial<AppConfig> = {
  THROTTLE_TOKEN_LIMIT: 60,
  THROTTLE_TOKEN_TTL: 60,
  THROTTLE_REGISTRATION_LIMIT: 20,
  THROTTLE_REGISTRATION_TTL: 3600,
  THROTTLE_PASSWORD_CHANGE_LIMIT: 10,
  THROTTLE_PASSWORD_CHANGE_TTL: 900,
  LOGIN_BACKOFF_THRESHOLD: 2,
  LOGIN_BACKOFF_BASE_MS: 1000,
  LOGIN_BACKOFF_MAX_MS: 4000,
};

/** The wait each attempt imposes, in the library's real in-memory store, on a fake clock. */
describe('LoginBackoff', () => {
  let backoff: LoginBackoff;

  beforeEach(() => {
    jest.useFakeTimers();
    const config = {
      get: (key: keyof AppConfig) => SETTINGS[key],
    } as unknown as ConfigService<AppConfig, true>;
    backoff = new LoginBackoff(new RateLimiters(config, null), config);
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  /** Waits out each refusal, then tries again: the waits the username saw. */
  async function waitsOver(attempts: number): Promise<number[]> {
    const waits: number[] = [];
    for (let i = 0; i < attempts; i++) {
      let wait = await backoff.startAttempt('Alice');
      while (wait !== undefined) {
        waits.push(wait);
        jest.advanceTimersByTime(wait);
        wait = await backoff.startAttempt('Alice');
      }
    }
    return waits;
  }

  it('doubles the wait after the threshold, up to the maximum, and never locks', async () => {
    expect(await waitsOver(6)).toEqual([1000, 2000, 4000, 4000]);
  });

  it('counts a username in every spelling of it as one', async () => {
    await backoff.startAttempt('alice');
    await backoff.startAttempt('ALICE');

    expect(await backoff.startAttempt('ａｌｉｃｅ')).toBe(1000);
  });

  it('does not count an attempt that could not be checked', async () => {
    for (let i = 0; i < 5; i++) {
      expect(await backoff.startAttempt('alice')).toBeUndefined();
      await backoff.abandoned('alice');
    }

    expect(await waitsOver(2)).toEqual([]);
  });

  it('starts afresh after a success', async () => {
    await waitsOver(3);
    await backoff.succeeded('alice');

    expect(await waitsOver(2)).toEqual([]);
  });
});
