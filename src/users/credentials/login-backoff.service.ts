import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createHash } from 'node:crypto';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { AppConfig } from '../../config/env.js';
import { RateLimiters } from '../../rate-limiting/rate-limiters.service.js';
import { normalizeUsername } from '../username.js';

/** How long attempts on a username are remembered without a success. */
const ATTEMPTS_MEMORY_SECONDS = 24 * 60 * 60;

/**
 * The per-account defence against password guessing (OWASP Authentication
 * Cheat Sheet, "Account lockout"): after LOGIN_BACKOFF_THRESHOLD attempts
 * without a success, each attempt makes the next one wait, twice as long
 * each time up to LOGIN_BACKOFF_MAX_MS. A delay, never a lock: nobody can
 * shut a victim out for longer than that, and a success clears it all.
 *
 * Keyed by the name attempted, whether or not an account has it, so that
 * the answer tells nothing about which names exist. An attempt counts when
 * it starts, before bcrypt: guesses sent all at once are held back too,
 * not only those sent after a failure came back.
 *
 * An attempt from a device that logged in to that account before (its
 * device cookie, LoginDevices) counts in the device's own bucket instead,
 * and never touches the username's (OWASP "Slow Brute Force Attacks",
 * device cookies): a guesser can make the username wait forever, but not
 * its owner. The guesser gains nothing by changing address: every attempt
 * without such a device shares the username's bucket.
 */
@Injectable()
export class LoginBackoff {
  private readonly attempts: RateLimiterAbstract;
  /** Blocked while a username must wait; the block's expiry is the wait's end. */
  private readonly waits: RateLimiterAbstract;
  private readonly threshold: number;
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(limiters: RateLimiters, config: ConfigService<AppConfig, true>) {
    this.attempts = limiters.create({
      keyPrefix: 'login-attempts',
      points: 1,
      duration: ATTEMPTS_MEMORY_SECONDS,
    });
    this.waits = limiters.create({
      keyPrefix: 'login-wait',
      points: 1,
      duration: 1,
    });
    this.threshold = config.get('LOGIN_BACKOFF_THRESHOLD', { infer: true });
    this.baseMs = config.get('LOGIN_BACKOFF_BASE_MS', { infer: true });
    this.maxMs = config.get('LOGIN_BACKOFF_MAX_MS', { infer: true });
  }

  /**
   * Starts an attempt on `username`, from `deviceId` when the attempt
   * presented a device recognised for that username: the milliseconds still
   * to wait if it must wait (and then it does not count), otherwise undefined.
   *
   * Every step is one atomic operation of the store, so that guesses sent
   * at once to several instances sharing Redis are held back as surely as
   * those one process handles in turn.
   */
  async startAttempt(
    username: string,
    deviceId?: string,
  ): Promise<number | undefined> {
    const key = keyOf(username, deviceId);
    const wait = await this.waits.get(key);
    // An expired block can linger until its timer fires: msBeforeNext tells.
    if (
      wait !== null &&
      wait.consumedPoints > this.waits.points &&
      wait.msBeforeNext > 0
    ) {
      return wait.msBeforeNext;
    }
    // penalty(): a count that is never refused; the wait is what refuses.
    const { consumedPoints: attempts } = await this.attempts.penalty(key);
    if (attempts < this.threshold) return undefined;
    // From the threshold on, one attempt at a time: the first to claim the
    // slot goes on and sets the next wait; the others, sent with it, wait.
    try {
      await this.waits.consume(key);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      await this.attempts.reward(key);
      return Math.max(rejection.msBeforeNext, 1);
    }
    // Whole seconds: Redis keeps a key's lifetime in seconds, and 0 would mean forever.
    await this.waits.block(key, Math.ceil(this.waitAfter(attempts) / 1000));
    return undefined;
  }

  /**
   * An attempt that started but could not be checked (the database did not
   * answer): it was no guess, so it no longer counts. A wait it set, when
   * it came at the threshold, stands: that slot is one attempt at a time.
   */
  async abandoned(username: string, deviceId?: string): Promise<void> {
    await this.attempts.reward(keyOf(username, deviceId));
  }

  /** A successful login: its bucket (the device's, if it came from one) starts afresh. */
  async succeeded(username: string, deviceId?: string): Promise<void> {
    const key = keyOf(username, deviceId);
    await Promise.all([this.attempts.delete(key), this.waits.delete(key)]);
  }

  private waitAfter(attempts: number): number {
    const doublings = Math.min(attempts - this.threshold, 40);
    return Math.min(this.baseMs * 2 ** doublings, this.maxMs);
  }
}

/**
 * A fixed-size key that keeps usernames out of the counter store. Each
 * kind of bucket hashes its own prefix, so that no name typed, NULs and
 * all, can land in a device's bucket.
 */
function keyOf(username: string, deviceId?: string): string {
  return createHash('sha256')
    .update(
      deviceId === undefined
        ? `username\0${normalizeUsername(username)}`
        : `device\0${deviceId}`,
    )
    .digest('base64url');
}
