import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module.js';
import { LoginBackoffModule } from './credentials/credentials.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { CredentialChecker } from './credential-checker.service.js';
import { LoginSessions } from './login-sessions.service.js';
import { PasswordConfirmation } from './credentials/password-confirmation.service.js';
import { PasswordHasher } from './credentials/password-hasher.service.js';
import { PasswordPolicyConstraint } from './credentials/password-policy.constraint.js';
import { PasswordPolicy } from './credentials/password-policy.service.js';
import { ProfileChanges } from './profile-changes.service.js';
import { User } from './user.entity.js';
import { UserAdministration } from './user-administration.service.js';
import { UserRegistration } from './user-registration.service.js';
import { UsersController } from './users.controller.js';
import { UsersService } from './users.service.js';

@Module({
  imports: [
    TypeOrmModule.forFeature([User]),
    SessionsModule,
    AuditModule,
    LoginBackoffModule,
  ],
  controllers: [UsersController],
  providers: [
    UsersService,
    UserRegistration,
    CredentialChecker,
    LoginSessions,
    ProfileChanges,
    UserAdministration,
    PasswordConfirmation,
    PasswordHasher,
    PasswordPolicy,
    PasswordPolicyConstraint,
  ],
  exports: [UsersService, CredentialChecker, LoginSessions],
})
export class UsersModule {}
