// The Nest rungs, one layer added at a time: each rung file names the
// layers it adds, so that between two neighbouring rungs exactly one thing
// differs. Plain JS, so the decorators are applied as functions.
import 'reflect-metadata';
// The service's own security headers, as the build has them (npm run build first).
import { sendSecurityHeaders } from '../../dist/http/security-headers.js';
import {
  Controller,
  Get,
  Injectable,
  Module,
  Req,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ExtractJwt, Strategy } from 'passport-jwt';
import pino from 'pino';
import {
  ISSUER,
  announce,
  listenPort,
  publicKey,
  sqliteLookup,
  users,
  verifiedClaims,
} from './common.mjs';

/** @param {{guard?: boolean, lookup?: boolean, helmet?: boolean, log?: boolean}} layers */
export async function startNestRung(layers) {
  const findUser = layers.lookup ? sqliteLookup() : (id) => users.get(id);

  class MeController {
    me(request) {
      if (layers.guard) return request.user;
      const claims = verifiedClaims(request.headers.authorization);
      const user = claims && findUser(claims.sub);
      if (!user) throw new UnauthorizedException();
      return user;
    }
  }
  Controller('users')(MeController);
  const me = Object.getOwnPropertyDescriptor(MeController.prototype, 'me');
  Req()(MeController.prototype, 'me', 0);
  if (layers.guard)
    UseGuards(AuthGuard('jwt'))(MeController.prototype, 'me', me);
  Get('me')(MeController.prototype, 'me', me);

  // The service's strategy as configured in src/access/jwt.strategy.ts:
  // passport-jwt (jsonwebtoken) with the algorithm, issuer and audience pinned.
  class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
    constructor() {
      super({
        jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
        secretOrKeyProvider: (_request, _rawToken, done) =>
          done(null, publicKey),
        algorithms: ['RS256'],
        issuer: ISSUER,
        audience: ISSUER,
      });
    }
    validate(claims) {
      const user = findUser(claims.sub);
      if (!user) throw new UnauthorizedException();
      return user;
    }
  }
  Injectable()(JwtStrategy);

  class LadderModule {}
  Module({
    imports: layers.guard ? [PassportModule] : [],
    controllers: [MeController],
    providers: layers.guard ? [JwtStrategy] : [],
  })(LadderModule);

  const adapter = new FastifyAdapter();
  const app = await NestFactory.create(LadderModule, adapter, {
    logger: false,
  });
  if (layers.helmet) {
    // helmet's headers with the service's options, computed once (src/http/security-headers.ts).
    sendSecurityHeaders(adapter.getInstance());
  }
  if (layers.log) {
    // One pino line per request, as a deployment writes it: to a file.
    const logger = pino(
      pino.destination({ dest: process.env.LADDER_LOG_FILE ?? '/dev/null' }),
    );
    adapter.getInstance().addHook('onResponse', (request, reply, done) => {
      logger.info(
        {
          reqId: request.id,
          method: request.method,
          route: request.routeOptions.url,
          statusCode: reply.statusCode,
          responseTime: reply.elapsedTime,
        },
        'request completed',
      );
      done();
    });
  }
  await app.listen(listenPort(), '127.0.0.1');
  announce(app.getHttpServer().address().port);
  process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
}
