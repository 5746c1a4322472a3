import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { User } from '../users/user.entity.js';
import { AssetsController } from './assets.controller.js';
import { BrowserSession } from './browser-session.entity.js';
import { BrowserSessions } from './browser-sessions.service.js';
import { Consent } from './consent.entity.js';
import { ConsentsController } from './consents.controller.js';
import { Consents } from './consents.service.js';

/** The browser's side of signing in: the server's own sessions, consents, and the pages' stylesheet. */
@Module({
  imports: [TypeOrmModule.forFeature([BrowserSession, Consent, User])],
  controllers: [AssetsController, ConsentsController],
  providers: [BrowserSessions, Consents],
  exports: [BrowserSessions, Consents],
})
export class BrowserModule {}
