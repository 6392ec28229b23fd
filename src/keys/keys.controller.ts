import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/decorators/current-principal.decorator.js';
import { AdministratorGuard } from '../auth/guards/administrator.guard.js';
import type { Principal } from '../auth/principal.js';
import { ErrorResponseDto } from '../common/dto/error-response.dto.js';
import { API_KEY_SCHEME, BEARER_SCHEME } from '../common/http/swagger.js';
import { CreatedKeyDto, CreateKeyDto, ListKeysResponseDto } from './dto/key.dto.js';
import { KeysService } from './keys.service.js';

/** Managed API keys (docs/api.md §11). Administrators only. */
@ApiTags('keys')
@ApiSecurity(API_KEY_SCHEME)
@ApiSecurity(BEARER_SCHEME)
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@ApiForbiddenResponse({ type: ErrorResponseDto, description: 'The caller is not an administrator.' })
@ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'The database is unavailable (Retry-After).' })
@UseGuards(AdministratorGuard)
@Controller('v1/keys')
export class KeysController {
  constructor(private readonly keys: KeysService) {}

  /** Creates a key. The answer holds the key itself, the only time it is ever shown. */
  @Post()
  @HttpCode(201)
  @ApiCreatedResponse({ type: CreatedKeyDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  create(@Body() body: CreateKeyDto, @CurrentPrincipal() principal: Principal): Promise<CreatedKeyDto> {
    return this.keys.create(body, principal.id);
  }

  /** Lists every key, newest first, without secrets. */
  @Get()
  @ApiOkResponse({ type: ListKeysResponseDto })
  list(): Promise<ListKeysResponseDto> {
    return this.keys.list();
  }

  /** Revokes a key (by id, or by its `ask_…` prefix); every replica refuses it within a few seconds. */
  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No key has this id or prefix.' })
  async revoke(@Param('id') id: string): Promise<void> {
    await this.keys.revoke(id);
  }
}
