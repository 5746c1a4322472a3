import { describe, expect, it } from '@jest/globals';
import type { IncomingMessage } from 'node:http';
import { requestIdOf } from './request-id.js';

const UUID =
  /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const withHeader = (value: string | string[] | undefined) =>
  ({ headers: { 'x-request-id': value } }) as unknown as IncomingMessage;

describe('requestIdOf', () => {
  it.each(['abc-123', '0f8e2a7c-1b2d-4e5f-8a9b-0c1d2e3f4a5b', 'a'.repeat(128)])(
    "keeps the caller's safe id %s",
    (id) => {
      expect(requestIdOf(withHeader(id))).toBe(id);
    },
  );

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['longer than 128 characters', 'a'.repeat(129)],
    ['with CR/LF, forging a log line or a header', 'abc\r\nSet-Cookie: x=1'],
    ['with a lone LF', 'abc\ndef'],
    ['non-ASCII', 'réq'],
    ['repeated (Node joins the values)', ['a', 'b']],
  ])('replaces an id that is %s with a new UUID', (_, value) => {
    expect(requestIdOf(withHeader(value))).toMatch(UUID);
  });
});
