/**
 * RFC 8707 §2: a resource is an absolute URI without a fragment, and
 * should have no query. Identifiers are compared as exact strings, as the
 * `aud` of a token is (RFC 7519 §4.1.3): no normalisation that could make
 * two spellings of one API two audiences, or one spelling two APIs.
 */
export function resourceIdentifierProblem(value: string): string | null {
  if (value.length > 512) return 'is longer than 512 characters';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not an absolute URI';
  }
  if (value.includes('#'))
    return 'must not have a fragment (RFC 8707 section 2)';
  if (url.search !== '' || value.includes('?'))
    return 'must not have a query (RFC 8707 section 2)';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f-\uffff]/.test(value))
    return 'must be written in printable ASCII, without spaces';
  return null;
}
