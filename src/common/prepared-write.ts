import type {
  DataSource,
  EntityManager,
  EntityTarget,
  QueryResult,
} from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';

/** The names a statement is written with, escaped for the engine. */
export interface StatementNames<Property extends string> {
  table: string;
  column: (property: string) => string;
  /** The placeholder of a parameter; they must appear in the order `parameters` lists them (SQLite's `?` are positional). */
  parameter: (property: Property) => string;
}

/**
 * An INSERT or UPDATE written once, from the entity's metadata, and run
 * inside a transaction through that transaction's query runner. TypeORM's
 * query builders generate their SQL again on every call, rewriting property
 * names over the whole statement with regular expressions: on the refresh
 * grant, which writes three rows per request, that cost more than the
 * SQLite statements themselves (docs/performance.md). Values are converted
 * as TypeORM converts them when it writes the entity (dates as the engine
 * stores them).
 */
export class PreparedWrite<Property extends string> {
  readonly sql: string;
  private readonly columns: ColumnMetadata[];

  constructor(
    private readonly dataSource: DataSource,
    entity: EntityTarget<object>,
    private readonly parameters: readonly Property[],
    build: (names: StatementNames<Property>) => string,
  ) {
    const metadata = dataSource.getMetadata(entity);
    const { driver } = dataSource;
    const columnOf = (property: string) => {
      const column = metadata.findColumnWithPropertyName(property);
      if (column === undefined) {
        throw new Error(`${metadata.name} has no column ${property}`);
      }
      return column;
    };
    this.columns = parameters.map(columnOf);
    this.sql = build({
      table: driver.escape(metadata.tableName),
      column: (property) => driver.escape(columnOf(property).databaseName),
      parameter: (property) => {
        const index = parameters.indexOf(property);
        return driver.createParameter(`p${index}`, index);
      },
    });
  }

  /** Runs in the transaction of `manager`; the rows an UPDATE changed (an INSERT counts 0 on PostgreSQL). */
  async run(
    manager: EntityManager,
    values: Record<Property, unknown>,
  ): Promise<number> {
    const { driver } = this.dataSource;
    const parameters = this.parameters.map((property, index): unknown =>
      driver.preparePersistentValue(values[property], this.columns[index]),
    );
    if (manager.queryRunner === undefined) {
      throw new Error('A prepared write runs inside a transaction');
    }
    const result: QueryResult = await manager.queryRunner.query(
      this.sql,
      parameters,
      true,
    );
    return result.affected ?? 0;
  }
}
