// Checked by `tsc --noEmit` (npm run typecheck), never run: the types that
// openapi-typescript generates from openapi.json say what each body is. A DTO
// field the Swagger plugin could not describe comes out as `unknown`, `any` or
// `{}`, and then the constants below fail to compile, naming the place.
import type { components, operations } from './api.generated.js';

type IsAny<T> = 0 extends 1 & T ? true : false;

/**
 * The places inside T whose type says nothing: any, unknown, or an object
 * without properties. A schema may contain itself (an RFC 8693 actor nests
 * the actor before it): past a depth no document needs, a place is taken as
 * checked.
 */
type Loose<
  T,
  Path extends string,
  Depth extends unknown[] = [],
> = Depth['length'] extends 12
  ? never
  : IsAny<T> extends true
    ? Path
    : unknown extends T
      ? Path
      : T extends object
        ? string extends keyof T
          ? // A map: Record<string, never> (no properties) or values to check.
            [T[string & keyof T]] extends [never]
            ? Path
            : Loose<T[string & keyof T], `${Path}[string]`, [...Depth, 0]>
          : T extends readonly (infer Item)[]
            ? Loose<Item, `${Path}[]`, [...Depth, 0]>
            : keyof T extends never
              ? Path
              : {
                  [K in keyof T & (string | number)]-?: Loose<
                    T[K],
                    `${Path}.${K}`,
                    [...Depth, 0]
                  >;
                }[keyof T & (string | number)]
        : never;

/** The media types of a request body or a response; never when there is none. */
type ContentOf<T> = [T] extends [never]
  ? never
  : T extends { content: infer Content }
    ? Content
    : never;

/** The request and response bodies of an operation; headers are open by nature. */
type Bodies<Operation> = Operation extends {
  requestBody?: infer Body;
  responses: infer Responses;
}
  ? {
      request: ContentOf<NonNullable<Body>>;
      responses: { [Status in keyof Responses]: ContentOf<Responses[Status]> };
    }
  : never;

type LooseSchemas = Loose<components['schemas'], 'schemas'>;
type LooseOperations = {
  [Id in keyof operations]: Loose<Bodies<operations[Id]>, Id>;
}[keyof operations];

export const everySchemaHasAShape: [LooseSchemas] extends [never]
  ? true
  : LooseSchemas = true;
export const everyBodyHasAShape: [LooseOperations] extends [never]
  ? true
  : LooseOperations = true;
