import { Controller, Get, Headers, Param, Res, StreamableFile } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/decorators/public.decorator.js';
import { acceptsGzip, cacheControl, noneMatch } from './console-policy.js';
import { ConsoleService } from './console.service.js';
import { ConsoleConfigDto } from './dto/console-config.dto.js';

/**
 * The web console (docs/console.md): its built files under /console, public like /docs, and the
 * settings its page reads. Its API calls carry the credential; loading the page needs none.
 */
@ApiTags('console')
@Public()
@Controller('console')
export class ConsoleController {
  constructor(private readonly console: ConsoleService) {}

  /** How the console signs in: the SSO's public client and endpoints, when configured. Public. */
  @Get('config.json')
  @ApiOkResponse({ type: ConsoleConfigDto })
  async config(@Res({ passthrough: true }) response: Response): Promise<ConsoleConfigDto> {
    response.setHeader('Cache-Control', 'no-store');
    return this.console.settings();
  }

  @Get()
  @ApiExcludeEndpoint()
  page(@Headers() headers: RequestHeaders, @Res({ passthrough: true }) response: Response): Promise<StreamableFile | undefined> {
    return this.send('', headers, response);
  }

  // Express 5 path syntax: `*path` is every remaining segment, as an array.
  @Get('*path')
  @ApiExcludeEndpoint()
  file(
    @Param('path') path: string[],
    @Headers() headers: RequestHeaders,
    @Res({ passthrough: true }) response: Response,
  ): Promise<StreamableFile | undefined> {
    return this.send(path.join('/'), headers, response);
  }

  private async send(path: string, headers: RequestHeaders, response: Response): Promise<StreamableFile | undefined> {
    const asset = this.console.asset(path);
    if (asset.document) response.setHeader('Content-Security-Policy', await this.console.policy());
    response.setHeader('Cache-Control', cacheControl(asset.immutable));
    if (asset.gzip) response.vary('Accept-Encoding');
    const gzip = asset.gzip && acceptsGzip(headers['accept-encoding']) ? asset.gzip : undefined;
    const etag = gzip ? asset.gzipEtag! : asset.etag;
    response.setHeader('ETag', etag);
    if (noneMatch(headers['if-none-match'], etag)) {
      response.status(304);
      return undefined;
    }
    if (gzip) response.setHeader('Content-Encoding', 'gzip');
    const body = gzip ?? asset.body;
    return new StreamableFile(body, { type: asset.contentType, length: body.length });
  }
}

interface RequestHeaders {
  'if-none-match'?: string;
  'accept-encoding'?: string;
}
