import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { PasswordHasher } from './password-hasher.service.js';
import { PasswordPolicyConstraint } from './password-policy.constraint.js';
import { PasswordPolicy } from './password-policy.service.js';
import { User } from './user.entity.js';
import { UsersController } from './users.controller.js';
import { UsersService } from './users.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([User]), SessionsModule, AuditModule],
  controllers: [UsersController],
  providers: [
    UsersService,
    PasswordHasher,
    PasswordPolicy,
    PasswordPolicyConstraint,
  ],
  exports: [UsersService],
})
export class UsersModule {}
