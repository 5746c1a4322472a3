import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module.js';
import { ResourceServer } from './resource-server.entity.js';
import { ResourceServerClient } from './resource-server-client.entity.js';
import { ResourceServersController } from './resource-servers.controller.js';
import { ResourceServersService } from './resource-servers.service.js';

@Module({
  imports: [
    TypeOrmModule.forFeature([ResourceServer, ResourceServerClient]),
    AuditModule,
  ],
  controllers: [ResourceServersController],
  providers: [ResourceServersService],
  exports: [ResourceServersService],
})
export class ResourceServersModule {}
