import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '../../access/auth.decorators.js';
import { JwksDto } from './jwks.dto.js';
import { SigningKeysService } from './signing-keys.service.js';

@ApiTags('discovery')
@Controller('.well-known')
export class JwksController {
  constructor(private readonly keys: SigningKeysService) {}

  /** The public keys that verify access tokens (RFC 7517 JWK Set) */
  @Public()
  @Get('jwks.json')
  @ApiOkResponse({ type: JwksDto })
  // Verifiers cache the set and refetch it when they meet an unknown `kid`.
  @Header('Cache-Control', 'public, max-age=300')
  getJwks(): JwksDto {
    return this.keys.jwks as JwksDto;
  }
}
