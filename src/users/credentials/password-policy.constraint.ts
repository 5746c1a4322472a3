import { Injectable } from '@nestjs/common';
import type {
  ValidationArguments,
  ValidatorConstraintInterface,
} from 'class-validator';
import { ValidatorConstraint } from 'class-validator';
import { PasswordPolicy } from './password-policy.service.js';

/**
 * Runs the password policy inside DTO validation, so that one 400 names
 * every invalid field at once. Resolved from Nest's container (see
 * `useContainer` in app.setup.ts) because the policy reads configuration.
 * The DTO names the sibling property holding the username, if any.
 */
@ValidatorConstraint({ name: 'passwordPolicy', async: true })
@Injectable()
export class PasswordPolicyConstraint implements ValidatorConstraintInterface {
  /**
   * class-validator asks for the message synchronously once validate() has
   * resolved to false, so the violation validate() found is kept for it,
   * by the DTO it was found in.
   */
  private readonly violations = new WeakMap<object, string>();

  constructor(private readonly policy: PasswordPolicy) {}

  async validate(
    password: unknown,
    args: ValidationArguments,
  ): Promise<boolean> {
    if (typeof password !== 'string') return false;
    const violation = await this.violationOf(password, args);
    if (violation === null) return true;
    this.violations.set(args.object, violation);
    return false;
  }

  defaultMessage(args: ValidationArguments): string {
    if (typeof args.value !== 'string') return 'password must be a string';
    return this.violations.get(args.object) ?? 'password is not allowed';
  }

  private violationOf(
    password: string,
    args: ValidationArguments,
  ): Promise<string | null> {
    const [usernameProperty] = args.constraints as [string | undefined];
    const username: unknown =
      usernameProperty === undefined
        ? undefined
        : (args.object as Record<string, unknown>)[usernameProperty];
    return this.policy.violation(
      password,
      typeof username === 'string' ? username : undefined,
    );
  }
}
