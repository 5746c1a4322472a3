import type { DataSource, EntityMetadata } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import {
  hydrate,
  PreparedRead,
  storedColumns,
} from '../common/prepared-read.js';
import { Session } from '../sessions/session.entity.js';
import { User } from '../users/user.entity.js';

/** What a user's access token stands on: its user and the session it was issued in. */
export interface TokenHolder {
  user: User | null;
  /** Only what the revocation check reads, and whose login it was (an exchanged token's client is another). */
  session: Pick<
    Session,
    'id' | 'userId' | 'clientId' | 'endedAt' | 'expiresAt'
  > | null;
}

const SESSION_COLUMNS = [
  'id',
  'userId',
  'clientId',
  'endedAt',
  'expiresAt',
] as const;
const sessionKey = (property: string) => `session_${property}`;

/**
 * The user and the session of a user's access token, in one statement
 * prepared once per engine: every authenticated request makes this read
 * (the revocation check), so it is one round trip to PostgreSQL, not two.
 */
export class TokenHolderLookup {
  private readonly users: EntityMetadata;
  private readonly sessions: EntityMetadata;
  private readonly sessionColumns: ColumnMetadata[];
  private readonly read: PreparedRead;

  constructor(private readonly dataSource: DataSource) {
    this.users = dataSource.getMetadata(User);
    this.sessions = dataSource.getMetadata(Session);
    this.sessionColumns = SESSION_COLUMNS.map((property) =>
      this.sessions.findColumnWithPropertyName(property)!,
    );
    const { driver } = dataSource;
    const column = (metadata: EntityMetadata, property: string) =>
      driver.escape(
        metadata.findColumnWithPropertyName(property)!.databaseName,
      );
    const userColumns = storedColumns(this.users).map(
      (user) => `u.${driver.escape(user.databaseName)}`,
    );
    const sessionColumns = this.sessionColumns.map(
      (session) =>
        `s.${driver.escape(session.databaseName)} AS ${driver.escape(sessionKey(session.propertyName))}`,
    );
    this.read = new PreparedRead(
      dataSource,
      (parameter) =>
        `SELECT ${[...userColumns, ...sessionColumns].join(', ')}` +
        ` FROM ${driver.escape(this.users.tableName)} u` +
        ` LEFT JOIN ${driver.escape(this.sessions.tableName)} s` +
        ` ON s.${column(this.sessions, 'id')} = ${parameter(0)}` +
        ` WHERE u.${column(this.users, 'id')} = ${parameter(1)}`,
    );
  }

  async find(userId: string, sessionId: string): Promise<TokenHolder> {
    const row = await this.read.get([sessionId, userId]);
    if (row === undefined) return { user: null, session: null };
    const user = hydrate<User>(this.dataSource, this.users, row);
    if (row[sessionKey('id')] === null) return { user, session: null };
    const session = hydrate<Session>(this.dataSource, this.sessions, row, {
      columns: this.sessionColumns,
      key: (column) => sessionKey(column.propertyName),
    });
    return { user, session };
  }
}
