/** RFC 9457 problem details: the error body of every non-OAuth endpoint. */
export class ProblemDetailsDto {
  /** @example "about:blank" */
  type!: string;
  /** @example "Conflict" */
  title!: string;
  /** @example 409 */
  status!: number;
  /** @example "This username is already taken." */
  detail!: string;
  /** @example "/users" */
  instance!: string;
}

export class FieldErrorDto {
  /** @example "password" */
  field!: string;
  /** @example "password must be at least 15 characters; this one is 9" */
  message!: string;
}

/** Problem details of a 400: one entry per invalid field. */
export class ValidationProblemDetailsDto extends ProblemDetailsDto {
  errors!: FieldErrorDto[];
}
