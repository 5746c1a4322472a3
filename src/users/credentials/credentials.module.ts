import { Module } from '@nestjs/common';
import { LoginBackoff } from './login-backoff.service.js';

/**
 * The per-username back-off on its own, so that every check of a password
 * counts against one limit: the password grant (AuthModule) and the
 * confirmations of the current password (UsersModule, which AuthModule
 * imports and so cannot import back).
 */
@Module({
  providers: [LoginBackoff],
  exports: [LoginBackoff],
})
export class LoginBackoffModule {}
