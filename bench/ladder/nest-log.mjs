// Rung 6: + one pino request line per request, to a file.
import { startNestRung } from './nest-app.mjs';

await startNestRung({ guard: true, lookup: true, helmet: true, log: true });
