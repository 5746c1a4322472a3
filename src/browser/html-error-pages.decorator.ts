import { RouteConfig } from '@nestjs/platform-fastify';
import type {} from '../common/error-format.js';

/**
 * The route's errors are pages, as the route's own answers are: a person
 * whose sign-in hit the rate limit, or met a database that is away, reads
 * what happened and when to try again, not a JSON body.
 */
export const HtmlErrorPages = () => RouteConfig({ errorFormat: 'html' });
