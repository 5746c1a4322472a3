import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, Repository } from 'typeorm';
import type { AppConfig } from '../config/env.js';
import { AuditEvent } from './audit-event.entity.js';

const DAY_MS = 24 * 3600 * 1000;
const CLEANUP_INTERVAL_MS = 3600 * 1000;

/** Forgets, every hour, the events older than AUDIT_RETENTION_DAYS. */
@Injectable()
export class AuditCleanup implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(AuditCleanup.name);
  private readonly retentionMs: number;
  private cleanupTimer?: NodeJS.Timeout;

  constructor(
    @InjectRepository(AuditEvent)
    private readonly events: Repository<AuditEvent>,
    config: ConfigService<AppConfig, true>,
  ) {
    this.retentionMs =
      config.get('AUDIT_RETENTION_DAYS', { infer: true }) * DAY_MS;
  }

  onModuleInit(): void {
    this.cleanupTimer = setInterval(() => {
      this.removeExpired().catch((error: unknown) =>
        this.logger.warn(`Audit event cleanup failed: ${String(error)}`),
      );
    }, CLEANUP_INTERVAL_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.cleanupTimer);
  }

  async removeExpired(now = new Date()): Promise<void> {
    await this.events.delete({
      occurredAt: LessThan(new Date(now.getTime() - this.retentionMs)),
    });
  }
}
