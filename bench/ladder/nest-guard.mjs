// Rung 3: + the Passport JWT guard (passport-jwt), the user from the Map.
import { startNestRung } from './nest-app.mjs';

await startNestRung({ guard: true });
