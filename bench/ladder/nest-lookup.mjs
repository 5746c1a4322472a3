// Rung 4: + the user read from SQLite by primary key (better-sqlite3).
import { startNestRung } from './nest-app.mjs';

await startNestRung({ guard: true, lookup: true });
