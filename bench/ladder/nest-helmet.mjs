// Rung 5: + helmet's headers with the service's options, computed once as the service does.
import { startNestRung } from './nest-app.mjs';

await startNestRung({ guard: true, lookup: true, helmet: true });
