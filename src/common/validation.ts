import type { ValidationError } from '@nestjs/common';
import { ParseUUIDPipe, ValidationPipe } from '@nestjs/common';
import { ValidateIf } from 'class-validator';
import type { FieldError } from './http-problem.exception.js';
import { ValidationProblemException } from './http-problem.exception.js';

/**
 * A body with thousands of unknown keys would get an answer ten times its
 * size; the first errors are enough to fix the request.
 */
export const MAX_FIELD_ERRORS = 20;

/**
 * DTOs are whitelists: an unknown field is an error, so a caller cannot
 * slip `roles` or `isActive` into a body.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) =>
      new ValidationProblemException(
        unique(flatten(errors)).slice(0, MAX_FIELD_ERRORS),
      ),
  });
}

function flatten(errors: ValidationError[], parent?: string): FieldError[] {
  return errors.flatMap((error) => {
    const field =
      parent === undefined ? error.property : `${parent}.${error.property}`;
    const own = Object.values(error.constraints ?? {}).map((message) => ({
      field,
      message: message.replace(
        /^property (\S+) should not exist$/,
        '$1 is not an accepted field',
      ),
    }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

function unique(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter(({ field, message }) => {
    const key = `${field}\n${message}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

/**
 * The field may be left out, but not sent as `null`: class-validator's
 * IsOptional lets null through, and a null here would reach the database.
 */
export const IsOmittable = () =>
  ValidateIf((_object: object, value: unknown) => value !== undefined);

/**
 * A UUID path parameter. A malformed one is a validation failure like any
 * other, so its 400 names the parameter in `errors`, as the OpenAPI
 * document promises for every 400 (Nest's own pipe answers without them).
 */
export const ParseUuid = (field = 'id') =>
  new ParseUUIDPipe({
    exceptionFactory: () =>
      new ValidationProblemException([
        { field, message: `${field} must be a UUID` },
      ]),
  });
