import type {
  DataSource,
  EntityManager,
  EntityMetadata,
  ObjectLiteral,
} from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';

/**
 * One row by primary key, with its SQL written once from the entity's
 * metadata. The bearer guard loads the user and the session on every
 * request; TypeORM's `findOneBy` builds, rewrites and aliases that query
 * anew each time, which cost several times the query itself (see the
 * README's Performance section). The values are hydrated by the driver,
 * as TypeORM's own reads hydrate them, into an instance of the entity.
 */
export class PrimaryKeyLookup<Entity extends ObjectLiteral> {
  private readonly metadata: EntityMetadata;
  private readonly columns: ColumnMetadata[];
  private readonly sql: string;

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
    this.columns = this.metadata.columns.filter((column) => !column.isVirtual);
    const selected = this.columns
      .map((column) => driver.escape(column.databaseName))
      .join(', ');
    this.sql =
      `SELECT ${selected} FROM ${driver.escape(this.metadata.tableName)}` +
      ` WHERE ${driver.escape(primary.databaseName)} = ${driver.createParameter('id', 0)}`;
  }

  /** Inside a transaction, pass its manager: the read then belongs to it. */
  async find(id: string, manager?: EntityManager): Promise<Entity | null> {
    const rows: Record<string, unknown>[] = await (
      manager ?? this.dataSource
    ).query(this.sql, [id]);
    const row = rows[0];
    if (row === undefined) return null;
    const entity = this.metadata.create() as Entity;
    for (const column of this.columns) {
      column.setEntityValue(
        entity,
        this.dataSource.driver.prepareHydratedValue(
          row[column.databaseName],
          column,
        ),
      );
    }
    return entity;
  }
}
