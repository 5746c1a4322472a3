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
@ValidatorConstraint({ name: 'passwordPolicy' })
@Injectable()
export class PasswordPolicyConstraint implements ValidatorConstraintInterface {
  constructor(private readonly policy: PasswordPolicy) {}

  validate(password: unknown, args: ValidationArguments): boolean {
    return (
      typeof password === 'string' && this.violationOf(password, args) === null
    );
  }

  defaultMessage(args: ValidationArguments): string {
    const password: unknown = args.value;
    if (typeof password !== 'string') return 'password must be a string';
    return this.violationOf(password, args) ?? 'password is not allowed';
  }

  private violationOf(
    password: string,
    args: ValidationArguments,
  ): string | null {
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
