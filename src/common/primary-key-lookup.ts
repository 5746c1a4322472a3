import type {
  DataSource,
  EntityManager,
  EntityMetadata,
  ObjectLiteral,
} from 'typeorm';
import { hydrate, PreparedRead, storedColumns } from './prepared-read.js';

/**
 * One row by primary key, with its SQL written once from the entity's
 * metadata and prepared once (PreparedRead). The bearer guard and the
 * refresh grant read by primary key on every request; TypeORM's `findOneBy`
 * builds, rewrites and aliases that query anew each time, which cost
 * several times the query itself (docs/performance.md).
 */
export class PrimaryKeyLookup<Entity extends ObjectLiteral> {
  private readonly metadata: EntityMetadata;
  private readonly read: PreparedRead;

  constructor(
    private readonly dataSource: DataSource,
    entity: new () => Entity,
  ) {
    this.metadata = dataSource.getMetadata(entity);
    const [primary, ...more] = this.metadata.primaryColumns;
    if (primary === undefined || more.length > 0) {
      throw new Error(`${this.metadata.name} needs exactly one primary column`);
    }
    const { driver } = dataSource;
    const selected = storedColumns(this.metadata)
      .map((column) => driver.escape(column.databaseName))
      .join(', ');
    this.read = new PreparedRead(
      dataSource,
      (parameter) =>
        `SELECT ${selected} FROM ${driver.escape(this.metadata.tableName)}` +
        ` WHERE ${driver.escape(primary.databaseName)} = ${parameter(0)}`,
    );
  }

  /** Inside a transaction, pass its manager: the read then belongs to it. */
  async find(id: string, manager?: EntityManager): Promise<Entity | null> {
    const row = await this.read.get([id], manager);
    return row === undefined
      ? null
      : hydrate<Entity>(this.dataSource, this.metadata, row);
  }
}
