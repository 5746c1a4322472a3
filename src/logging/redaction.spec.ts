import { describe, expect, it } from '@jest/globals';
import { loggableUrl } from './redaction.js';

describe('loggableUrl', () => {
  it('leaves a URL without a query alone', () => {
    expect(loggableUrl('/users/me')).toBe('/users/me');
  });

  it("keeps the values of the service's harmless parameters", () => {
    expect(loggableUrl('/users?page=2&limit=20&username=ali')).toBe(
      '/users?page=2&limit=20&username=ali',
    );
  });

  it('hides every other value, under a name written in any encoding', () => {
    expect(
      loggableUrl('/auth/token?password=hunter2&p%61ssword=hunter3&x=1'),
    ).toBe('/auth/token?password=[Redacted]&password=[Redacted]&x=[Redacted]');
  });
});
