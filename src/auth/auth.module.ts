import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { UsersModule } from '../users/users.module.js';
import { AccessTokenService } from './access-token.service.js';
import { AuthController } from './auth.controller.js';
import { ClientAuthenticator } from './client-authenticator.service.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import { JwtStrategy } from './jwt.strategy.js';
import { JwksController } from './keys/jwks.controller.js';
import { SigningKey } from './keys/signing-key.entity.js';
import { SigningKeysService } from './keys/signing-keys.service.js';
import { LocalStrategy } from './local.strategy.js';
import { TokenGrantsService } from './token-grants.service.js';
import { TokenRequestGuard } from './token-request.guard.js';

@Module({
  imports: [
    UsersModule,
    PassportModule,
    // Keys are passed per call: they come from SigningKeysService, not from static options.
    JwtModule.register({}),
    TypeOrmModule.forFeature([SigningKey]),
  ],
  controllers: [AuthController, JwksController],
  providers: [
    SigningKeysService,
    AccessTokenService,
    ClientAuthenticator,
    TokenGrantsService,
    LocalStrategy,
    JwtStrategy,
    TokenRequestGuard,
    { provide: APP_GUARD, useClass: JwtAuthGuard },
  ],
})
export class AuthModule {}
