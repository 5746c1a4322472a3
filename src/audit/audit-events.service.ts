import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { FindOperator } from 'typeorm';
import { And, In, LessThanOrEqual, MoreThanOrEqual, Repository } from 'typeorm';
import type { AuditEventType } from './audit-event.entity.js';
import { AuditEvent } from './audit-event.entity.js';

export interface AuditEventFilter {
  userId?: string;
  types?: AuditEventType[];
  since?: Date;
  until?: Date;
}

/** Reading the audit log (AuditCleanup forgets what is past its retention). */
@Injectable()
export class AuditEventsService {
  constructor(
    @InjectRepository(AuditEvent)
    private readonly events: Repository<AuditEvent>,
  ) {}

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
