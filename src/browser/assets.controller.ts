import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../access/auth.decorators.js';
import { STYLESHEET } from './pages.js';

/** The login pages' stylesheet: from a route, so the pages' CSP needs no inline style. */
@ApiExcludeController()
@Public()
@Controller('assets')
export class AssetsController {
  @Get('login.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('Cache-Control', 'public, max-age=3600')
  stylesheet(): string {
    return STYLESHEET;
  }
}
