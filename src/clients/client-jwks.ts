import { importJWK } from 'jose';
import type { FieldError } from '../common/http-problem.exception.js';
import { ValidationProblemException } from '../common/http-problem.exception.js';

/** The algorithms a client's key may sign its assertions with, per kind of key. */
export const CLIENT_ASSERTION_ALGORITHMS = [
  'RS256',
  'PS256',
  'ES256',
  'ES384',
  'EdDSA',
  // RFC 9864's fully specified name for EdDSA with Ed25519, which newer clients (oauth4webapi) send.
  'Ed25519',
] as const;
export type ClientAssertionAlgorithm =
  (typeof CLIENT_ASSERTION_ALGORITHMS)[number];

/** A client's public key as stored: only the members that verify a signature, `alg` always set. */
export interface ClientJwk {
  kty: 'RSA' | 'EC' | 'OKP';
  kid: string;
  alg: ClientAssertionAlgorithm;
  use?: 'sig';
  n?: string;
  e?: string;
  crv?: string;
  x?: string;
  y?: string;
}

export interface ClientJwks {
  keys: ClientJwk[];
}

/** Enough for a rotation with a spare; more is a key store, not a client. */
export const MAX_CLIENT_KEYS = 10;
const MIN_RSA_BITS = 2048;
/** Private or symmetric members: a client registers what verifies, never what signs. */
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const KID = /^[\x21-\x7e]{1,128}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * The algorithms each kind of key may use, the first one assumed when the
 * JWK names none: RS256 is what RFC 7518 makes mandatory and what client
 * libraries default to; an EC or Ed25519 key has only one.
 */
const ALGORITHMS_BY_KEY: Record<string, readonly ClientAssertionAlgorithm[]> = {
  RSA: ['RS256', 'PS256'],
  'EC P-256': ['ES256'],
  'EC P-384': ['ES384'],
  'OKP Ed25519': ['EdDSA', 'Ed25519'],
};

/**
 * The header algorithms an assertion signed with `key` may name: its own,
 * or, for an Ed25519 key, either name of the one algorithm it has.
 */
export function algorithmsOf(key: ClientJwk): ClientAssertionAlgorithm[] {
  return key.kty === 'OKP' ? ['EdDSA', 'Ed25519'] : [key.alg];
}

/**
 * Reads a client's JWKS (RFC 7517) as registered: public RSA (2048 bits or
 * more), EC P-256/P-384 or Ed25519 keys, each with a unique `kid`, each
 * pinned to one algorithm. Any problem is a 400 naming the key and member.
 */
export async function readClientJwks(
  input: unknown,
  field = 'jwks',
): Promise<ClientJwks> {
  const path = (member: string) =>
    field === '' ? member : `${field}.${member}`;
  const fail = (errors: FieldError[]): never => {
    throw new ValidationProblemException(errors);
  };
  if (!isObject(input) || !Array.isArray(input.keys)) {
    const at = field === '' ? 'keys' : field;
    fail([
      { field: at, message: `${at} must be a JWK Set: { "keys": [...] }` },
    ]);
  }
  const keys = (input as { keys: unknown[] }).keys;
  if (keys.length === 0 || keys.length > MAX_CLIENT_KEYS) {
    fail([
      {
        field: path('keys'),
        message: `${path('keys')} must hold 1 to ${MAX_CLIENT_KEYS} keys`,
      },
    ]);
  }
  const errors: FieldError[] = [];
  const read: ClientJwk[] = [];
  const kids = new Set<string>();
  for (const [index, key] of keys.entries()) {
    const at = path(`keys[${index}]`);
    const problem = (member: string, message: string) =>
      errors.push({
        field: `${at}${member}`,
        message: `${at}${member} ${message}`,
      });
    if (!isObject(key)) {
      problem('', 'must be a JWK object');
      continue;
    }
    const secret = SECRET_MEMBERS.filter((name) => name in key);
    if (secret.length > 0) {
      problem(
        '',
        `must be a public key: remove its private or symmetric members (${secret.join(', ')})`,
      );
      continue;
    }
    const jwk = await readKey(key, problem);
    if (jwk === undefined) continue;
    if (kids.has(jwk.kid)) {
      problem('.kid', 'is the kid of another key: each must be unique');
      continue;
    }
    kids.add(jwk.kid);
    read.push(jwk);
  }
  if (errors.length > 0) fail(errors);
  return { keys: read };
}

async function readKey(
  key: Record<string, unknown>,
  problem: (member: string, message: string) => void,
): Promise<ClientJwk | undefined> {
  const { kty, kid, alg, use, crv } = key;
  if (typeof kid !== 'string' || !KID.test(kid)) {
    problem('.kid', 'must be 1 to 128 printable ASCII characters');
    return undefined;
  }
  if (use !== undefined && use !== 'sig') {
    problem('.use', 'must be "sig" when present');
    return undefined;
  }
  if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP') {
    problem('.kty', 'must be RSA, EC or OKP');
    return undefined;
  }
  const allowed =
    ALGORITHMS_BY_KEY[kty === 'RSA' ? kty : `${kty} ${String(crv)}`];
  if (allowed === undefined) {
    problem(
      '.crv',
      kty === 'EC' ? 'must be P-256 or P-384' : 'must be Ed25519',
    );
    return undefined;
  }
  if (alg !== undefined && !allowed.includes(alg as ClientAssertionAlgorithm)) {
    problem('.alg', `must be ${allowed.join(' or ')} for this key`);
    return undefined;
  }
  const members =
    kty === 'RSA' ? ['n', 'e'] : kty === 'EC' ? ['x', 'y'] : ['x'];
  for (const member of members) {
    const value = key[member];
    if (typeof value !== 'string' || !BASE64URL.test(value)) {
      problem(`.${member}`, 'must be a base64url string');
      return undefined;
    }
  }
  if (kty === 'RSA' && modulusBits(key.n as string) < MIN_RSA_BITS) {
    problem('.n', `must be an RSA modulus of at least ${MIN_RSA_BITS} bits`);
    return undefined;
  }
  const jwk: ClientJwk = {
    kty,
    kid,
    alg: (alg as ClientAssertionAlgorithm | undefined) ?? allowed[0],
    ...(use === undefined ? {} : { use: 'sig' as const }),
    ...(kty === 'RSA' ? {} : { crv: crv as string }),
    ...Object.fromEntries(members.map((member) => [member, key[member]])),
  };
  try {
    await importJWK({ ...jwk }, jwk.alg);
  } catch {
    problem('', 'is not a valid public key for its kty and crv');
    return undefined;
  }
  return jwk;
}

function modulusBits(n: string): number {
  const bytes = Buffer.from(n, 'base64url');
  const first = bytes.findIndex((byte) => byte !== 0);
  if (first < 0) return 0;
  return (bytes.length - first - 1) * 8 + (32 - Math.clz32(bytes[first]));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
