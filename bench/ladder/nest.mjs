// Rung 2: Nest on @nestjs/platform-fastify, one controller doing rung 1's work.
import { startNestRung } from './nest-app.mjs';

await startNestRung({});
