import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LessThan, Repository } from 'typeorm';
import { hashSecret, newSecret } from '../../common/secrets.js';
import type { AppConfig } from '../../config/env.js';
import type { User } from '../user.entity.js';
import { normalizeUsername } from '../username.js';
import { LoginDevice } from './login-device.entity.js';

/**
 * Device cookies (OWASP "Slow Brute Force Attacks"): each successful
 * password-grant login hands its device a cookie; a later login to the same
 * account that presents it has a back-off of its own (LoginBackoff).
 *
 * A random secret whose hash is stored, not a signed value: it needs no key
 * shared by every instance, and it ends by deleting a row (with the user,
 * or on expiry) or by a password change, which makes every device of the
 * account a stranger again. Browsers keep and send it by themselves; an API
 * client presents it by sending the cookie back in a `Cookie` header.
 */
/**
 * The devices an account keeps a cookie for: more than a person uses, few
 * enough that a login's clean-up reads a handful of rows.
 */
export const MAX_DEVICES_PER_ACCOUNT = 20;

@Injectable()
export class LoginDevices {
  /**
   * With https, `__Host-`: the browser then takes the cookie only from this
   * origin, Secure and for path `/`, so a sibling subdomain cannot plant one.
   */
  readonly cookieName: string;
  private readonly secure: boolean;
  private readonly ttlSeconds: number;

  constructor(
    @InjectRepository(LoginDevice)
    private readonly devices: Repository<LoginDevice>,
    config: ConfigService<AppConfig, true>,
  ) {
    const publicUrl = new URL(config.get('PUBLIC_URL', { infer: true }));
    this.secure = publicUrl.protocol === 'https:';
    this.cookieName = this.secure ? '__Host-login-device' : 'login-device';
    this.ttlSeconds = config.get('LOGIN_DEVICE_TTL', { infer: true });
  }

  /**
   * The device whose cookie the request presents, if it logged in to
   * `username` before, and neither it expired nor the password changed
   * since; otherwise null, and the attempt is a stranger's.
   */
  async recognize(
    request: FastifyRequest,
    username: string,
  ): Promise<LoginDevice | null> {
    const secret = request.cookies[this.cookieName];
    if (secret === undefined || secret === '') return null;
    const device = await this.devices.findOne({
      where: { secretHash: hashSecret(secret) },
      relations: { user: true },
    });
    const user = device?.user;
    if (device === null || user === undefined) return null;
    const known =
      user.username === normalizeUsername(username) &&
      device.expiresAt.getTime() > Date.now() &&
      (user.tokensValidAfter === null ||
        device.createdAt >= user.tokensValidAfter);
    return known ? device : null;
  }

  /**
   * After a successful login: sets the device's cookie on the token
   * response. A device already known keeps its bucket and gets a fresh
   * secret and lifetime, so a copy of its old cookie stops working; any
   * other becomes a new device.
   */
  async remember(
    user: User,
    presented: LoginDevice | null | undefined,
    reply: FastifyReply,
  ): Promise<void> {
    const now = new Date();
    const secret = newSecret();
    const secretHash = hashSecret(secret);
    const expiresAt = new Date(now.getTime() + this.ttlSeconds * 1000);
    if (presented?.userId === user.id) {
      await this.devices.update(presented.id, { secretHash, expiresAt });
    } else {
      await this.makeRoom(user.id, now);
      await this.devices.insert({
        userId: user.id,
        secretHash,
        createdAt: now,
        expiresAt,
      });
    }
    void reply.setCookie(this.cookieName, secret, {
      httpOnly: true,
      secure: this.secure,
      sameSite: 'strict',
      path: '/',
      maxAge: this.ttlSeconds,
    });
  }

  /**
   * Room is made here, per account, rather than by a sweep of the whole
   * table: the account's expired devices go, and so do the least recently
   * used beyond MAX_DEVICES_PER_ACCOUNT. Without the cap, a client that
   * logs in without sending its cookie back (a script, an app without a
   * cookie jar) would add a row at every login, kept for LOGIN_DEVICE_TTL.
   */
  private async makeRoom(userId: string, now: Date): Promise<void> {
    await this.devices.delete({ userId, expiresAt: LessThan(now) });
    const beyondCap = await this.devices.find({
      select: { id: true },
      where: { userId },
      // Each login from a device renews its expiry: the oldest expiry is the least recently used.
      order: { expiresAt: 'DESC' },
      skip: MAX_DEVICES_PER_ACCOUNT - 1,
    });
    if (beyondCap.length > 0) {
      await this.devices.delete(beyondCap.map(({ id }) => id));
    }
  }
}
