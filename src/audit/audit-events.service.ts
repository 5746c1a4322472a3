import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import type { FindOperator } from 'typeorm';
import {
  And,
  In,
  LessThan,
  LessThanOrEqual,
  MoreThanOrEqual,
  Repository,
} from 'typeorm';
import type { AppConfig } from '../config/env.js';
import type { AuditEventType } from './audit-event.entity.js';
import { AuditEvent } from './audit-event.entity.js';

export interface AuditEventFilter {
  userId?: string;
  types?: AuditEventType[];
  since?: Date;
  until?: Date;
}

const DAY_MS = 24 * 3600 * 1000;

/** Reading the audit log, and forgetting what is older than AUDIT_RETENTION_DAYS. */
@Injectable()
export class AuditEventsService {
  private readonly retentionMs: number;

  constructor(
    @InjectRepository(AuditEvent)
    private readonly events: Repository<AuditEvent>,
    config: ConfigService<AppConfig, true>,
  ) {
    this.retentionMs =
      config.get('AUDIT_RETENTION_DAYS', { infer: true }) * DAY_MS;
  }

  /** A page of events, newest first. */
  async list(
    filter: AuditEventFilter,
    page: number,
    limit: number,
  ): Promise<{ items: AuditEvent[]; total: number }> {
    const [items, total] = await this.events.findAndCount({
      where: {
        ...(filter.userId === undefined ? {} : { userId: filter.userId }),
        ...(filter.types === undefined ? {} : { type: In(filter.types) }),
        ...timeRange(filter.since, filter.until),
      },
      order: { occurredAt: 'DESC', id: 'DESC' },
      skip: (page - 1) * limit,
      take: limit,
    });
    return { items, total };
  }

  /** Called by the hourly cleanup. */
  async removeExpired(now = new Date()): Promise<void> {
    await this.events.delete({
      occurredAt: LessThan(new Date(now.getTime() - this.retentionMs)),
    });
  }
}

function timeRange(
  since: Date | undefined,
  until: Date | undefined,
): { occurredAt?: FindOperator<Date> } {
  const bounds = [
    ...(since === undefined ? [] : [MoreThanOrEqual(since)]),
    ...(until === undefined ? [] : [LessThanOrEqual(until)]),
  ];
  if (bounds.length === 0) return {};
  return { occurredAt: bounds.length === 1 ? bounds[0] : And(...bounds) };
}
