import { afterAll, beforeAll, jest } from '@jest/globals';

/**
 * A clock the tests of a `describe` can move forward, so that a rate
 * limit's window or a back-off's wait passes without waiting it out.
 *
 * rate-limiter-flexible's in-memory store decides when a window or a block
 * ends by `Date.now()` alone, so that is all that moves: it runs on with
 * real time, plus every `advance`. A jump ends a window as time would; the
 * store's real timers only delete what has already expired. Timers stay
 * real, as TypeORM, supertest and Fastify need them, and so does
 * `new Date()`: TypeORM tells a date column by the identity of the global
 * `Date`, which jest's fake timers would replace. (A Redis store keeps its
 * own time: the suites using this run on the in-memory one.)
 */
export function useMovableClock(): { advance: (ms: number) => void } {
  let offsetMs = 0;
  beforeAll(() => {
    const realNow = Date.now;
    jest.spyOn(Date, 'now').mockImplementation(() => realNow() + offsetMs);
  });
  afterAll(() => {
    jest.mocked(Date.now).mockRestore();
  });
  return {
    advance: (ms) => {
      offsetMs += ms;
    },
  };
}
