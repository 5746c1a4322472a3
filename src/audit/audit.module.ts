import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MetricsModule } from '../metrics/metrics.module.js';
import { AuditCleanup } from './audit-cleanup.service.js';
import { AuditEvent } from './audit-event.entity.js';
import { AuditEventsController } from './audit-events.controller.js';
import { AuditEventsService } from './audit-events.service.js';
import { SecurityEvents } from './security-events.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([AuditEvent]), MetricsModule],
  controllers: [AuditEventsController],
  providers: [SecurityEvents, AuditEventsService, AuditCleanup],
  exports: [SecurityEvents],
})
export class AuditModule {}
