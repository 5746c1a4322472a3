import { createHash } from 'node:crypto';
import type {
  DataSource,
  EntityManager,
  EntityMetadata,
  ObjectLiteral,
} from 'typeorm';
import { QueryFailedError } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';

type Row = Record<string, unknown>;

/** The better-sqlite3 API this file uses. */
interface SqliteStatement {
  get(...parameters: unknown[]): Row | undefined;
}
interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
}

/** The node-postgres pool API this file uses. */
interface PostgresPool {
  query(config: {
    name: string;
    text: string;
    values: unknown[];
  }): Promise<{ rows: Row[] }>;
}

/**
 * A read of one row that runs on every authenticated request, as one
 * statement prepared once on the engine's own connection: a better-sqlite3
 * statement, or a named node-postgres statement (parsed and planned once per
 * pooled connection). TypeORM's `DataSource.query` wraps each call in a query
 * runner, a logger call and two broadcasts, which cost more than the read
 * itself (docs/performance.md). Errors surface as TypeORM's QueryFailedError,
 * as they do from TypeORM's own queries.
 *
 * Placeholders come from `parameter(index)`, in the engine's syntax, and
 * must appear in the order of their index: SQLite's `?` are positional.
 */
export class PreparedRead {
  readonly sql: string;
  private readonly run: (parameters: unknown[]) => Promise<Row | undefined>;

  constructor(
    dataSource: DataSource,
    buildSql: (parameter: (index: number) => string) => string,
  ) {
    const { driver } = dataSource;
    this.sql = buildSql((index) => driver.createParameter(`p${index}`, index));
    this.run = engineRead(dataSource, this.sql);
  }

  /** Inside a transaction, pass its manager: the read then belongs to it. */
  get(
    parameters: unknown[],
    transaction?: EntityManager,
  ): Promise<Row | undefined> {
    if (transaction === undefined) return this.run(parameters);
    return transaction
      .query(this.sql, parameters)
      .then((rows: Row[]) => rows[0]);
  }
}

function engineRead(
  dataSource: DataSource,
  sql: string,
): (parameters: unknown[]) => Promise<Row | undefined> {
  const failed = (parameters: unknown[], error: unknown): never => {
    throw new QueryFailedError(sql, parameters, error as Error);
  };
  const { driver } = dataSource;
  switch (dataSource.options.type) {
    case 'better-sqlite3': {
      // Prepared on first use: the tables exist only once migrations have run.
      let statement: SqliteStatement | undefined;
      const connection = () =>
        (driver as unknown as { databaseConnection: SqliteConnection })
          .databaseConnection;
      return (parameters) => {
        try {
          statement ??= connection().prepare(sql);
          return Promise.resolve(statement.get(...parameters));
        } catch (error) {
          return failed(parameters, error);
        }
      };
    }
    case 'postgres': {
      const name = `read_${createHash('sha256').update(sql).digest('hex').slice(0, 16)}`;
      const pool = () => (driver as unknown as { master: PostgresPool }).master;
      return (parameters) =>
        pool()
          .query({ name, text: sql, values: parameters })
          .then(
            (result) => result.rows[0],
            (error: unknown) => failed(parameters, error),
          );
    }
    default:
      return async (parameters) => {
        const rows: Row[] = await dataSource.query(sql, parameters);
        return rows[0];
      };
  }
}

/**
 * An entity from a raw row, its values hydrated by the driver as TypeORM's
 * own reads hydrate them (booleans, arrays, dates), into an instance of the
 * entity: all its columns, or those given, each read from `key(column)`.
 */
export function hydrate<Entity extends ObjectLiteral>(
  dataSource: DataSource,
  metadata: EntityMetadata,
  row: Row,
  {
    columns = storedColumns(metadata),
    key = (column) => column.databaseName,
  }: {
    columns?: ColumnMetadata[];
    key?: (column: ColumnMetadata) => string;
  } = {},
): Entity {
  const entity = metadata.create() as Entity;
  for (const column of columns) {
    column.setEntityValue(
      entity,
      dataSource.driver.prepareHydratedValue(row[key(column)], column),
    );
  }
  return entity;
}

/** The columns a row of the entity's table holds. */
export function storedColumns(metadata: EntityMetadata): ColumnMetadata[] {
  return metadata.columns.filter((column) => !column.isVirtual);
}
