// Rung 5: + @fastify/helmet with the service's options.
import { startNestRung } from './nest-app.mjs';

await startNestRung({ guard: true, lookup: true, helmet: true });
