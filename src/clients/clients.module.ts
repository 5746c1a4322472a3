import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { Client } from './client.entity.js';
import { ClientsController } from './clients.controller.js';
import { ClientsService } from './clients.service.js';
import { DocsClient } from './docs-client.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([Client]), SessionsModule, AuditModule],
  controllers: [ClientsController],
  providers: [ClientsService, DocsClient],
  exports: [ClientsService, DocsClient],
})
export class ClientsModule {}
