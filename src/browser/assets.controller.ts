import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../access/auth.decorators.js';
import { FAVICON, STYLESHEET } from './pages.js';

/** The login pages' stylesheet and icon: from routes, so the pages' CSP needs no inline style. */
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

  /** Named by every page, so that browsers do not ask for a /favicon.ico that is not there. */
  @Get('favicon.svg')
  @Header('Content-Type', 'image/svg+xml')
  @Header('Cache-Control', 'public, max-age=86400')
  favicon(): string {
    return FAVICON;
  }
}
