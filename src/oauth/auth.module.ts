import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module.js';
import { ClientsModule } from '../clients/clients.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { ResourceServersModule } from '../resource-servers/resource-servers.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { AccessTokenVerification } from '../access/access-token-verification.js';
import { AccessTokenVerifier } from './access-token-verifier.service.js';
import { AccessTokenService } from './access-token.service.js';
import { LoginDevice } from '../users/credentials/login-device.entity.js';
import { LoginDevices } from '../users/credentials/login-devices.service.js';
import { DiscoveryController } from './discovery.controller.js';
import { IssuedTokensService } from './issued-tokens.service.js';
import { OAuthClientGuard } from './oauth-client.guard.js';
import { PasswordGrantGuard } from './password-grant.guard.js';
import { TokenController } from './token.controller.js';
import { ClientAuthenticator } from './client-authenticator.service.js';
import { ClientAssertionJti } from './client-assertion-jti.entity.js';
import { ClientAssertionJtis } from './client-assertion-jtis.service.js';
import { ClientAssertionVerifier } from './client-assertion-verifier.service.js';
import { JwtAuthGuard } from '../access/jwt-auth.guard.js';
import { DpopProofVerification } from '../access/dpop-proof-verification.js';
import { DpopProofGuard } from './dpop/dpop-proof.guard.js';
import { DpopProofJti } from './dpop/dpop-proof-jti.entity.js';
import { DpopProofJtis } from './dpop/dpop-proof-jtis.service.js';
import { DpopProofVerifier } from './dpop/dpop-proof-verifier.service.js';
import { JwtStrategy } from '../access/jwt.strategy.js';
import { JwksController } from './keys/jwks.controller.js';
import { SigningKey } from './keys/signing-key.entity.js';
import { SigningKeyStore } from './keys/signing-key-store.service.js';
import { SigningKeysService } from './keys/signing-keys.service.js';
import { LocalStrategy } from './local.strategy.js';
import { LoginBackoffModule } from '../users/credentials/credentials.module.js';
import { TokenAudiences } from './token-audiences.service.js';
import { TokenExchange } from './token-exchange.service.js';
import { DeviceFlow } from './device/device-flow.service.js';
import { DeviceAuthorizationController } from './device/device-authorization.controller.js';
import { DevicePageController } from './device/device-page.controller.js';
import { TokenGrantsService } from './token-grants.service.js';
import { BrowserModule } from '../browser/browser.module.js';
import { AuthorizationCode } from './authorization/authorization-code.entity.js';
import { AuthorizationCodeGrant } from './authorization/authorization-code-grant.service.js';
import { AuthorizationCodes } from './authorization/authorization-codes.service.js';
import { AuthorizationRequests } from './authorization/authorization-request.js';
import { AuthorizeController } from './authorization/authorize.controller.js';
import { LoginController } from './authorization/login.controller.js';
import { LoginFormGuard } from './authorization/login-form.guard.js';

@Module({
  imports: [
    UsersModule,
    SessionsModule,
    ClientsModule,
    ResourceServersModule,
    AuditModule,
    MetricsModule,
    LoginBackoffModule,
    BrowserModule,
    PassportModule,
    // Keys are passed per call: they come from SigningKeysService, not from static options.
    JwtModule.register({}),
    TypeOrmModule.forFeature([
      SigningKey,
      LoginDevice,
      ClientAssertionJti,
      DpopProofJti,
      AuthorizationCode,
    ]),
  ],
  controllers: [
    TokenController,
    DeviceAuthorizationController,
    DevicePageController,
    JwksController,
    DiscoveryController,
    AuthorizeController,
    LoginController,
  ],
  providers: [
    SigningKeysService,
    SigningKeyStore,
    AccessTokenService,
    ClientAuthenticator,
    ClientAssertionVerifier,
    ClientAssertionJtis,
    TokenGrantsService,
    TokenAudiences,
    TokenExchange,
    DeviceFlow,
    LocalStrategy,
    LoginDevices,
    JwtStrategy,
    OAuthClientGuard,
    PasswordGrantGuard,
    AccessTokenVerifier,
    // The bearer guard's port onto this server (access-token-verification.ts).
    { provide: AccessTokenVerification, useExisting: AccessTokenVerifier },
    DpopProofJtis,
    DpopProofVerifier,
    DpopProofGuard,
    // The guard's port onto this server's DPoP proof checks (dpop-proof-verification.ts).
    { provide: DpopProofVerification, useExisting: DpopProofVerifier },
    IssuedTokensService,
    AuthorizationRequests,
    AuthorizationCodes,
    AuthorizationCodeGrant,
    LoginFormGuard,
    { provide: APP_GUARD, useClass: JwtAuthGuard },
  ],
})
export class AuthModule {}
