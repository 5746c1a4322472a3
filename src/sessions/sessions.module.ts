import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module.js';
import { RefreshToken } from './refresh-token.entity.js';
import { RefreshTokenRotation } from './refresh-token-rotation.service.js';
import { Session } from './session.entity.js';
import { SessionCleanup } from './session-cleanup.service.js';
import { SessionEnder } from './session-ender.service.js';
import { SessionStarter } from './session-starter.service.js';
import { SessionsController } from './sessions.controller.js';
import { SessionsService } from './sessions.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([Session, RefreshToken]), AuditModule],
  controllers: [SessionsController],
  providers: [
    SessionsService,
    SessionStarter,
    RefreshTokenRotation,
    SessionEnder,
    SessionCleanup,
  ],
  exports: [
    SessionsService,
    SessionStarter,
    RefreshTokenRotation,
    SessionEnder,
  ],
})
export class SessionsModule {}
