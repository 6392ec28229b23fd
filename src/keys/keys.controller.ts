import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/decorators/current-principal.decorator.js';
import { AdministratorGuard } from '../auth/guards/administrator.guard.js';
import type { Principal } from '../auth/principal.js';
import { ErrorResponseDto } from '../common/dto/error-response.dto.js';
import { ApiCredentialRefusals, ApiJsonBodyRefusals, EXAMPLE_AGENT } from '../common/http/swagger.js';
import { CreatedKeyDto, CreateKeyDto, ListKeysResponseDto } from './dto/key.dto.js';
import { KeysService } from './keys.service.js';

/** Managed API keys (docs/api.md §11). Administrators only. */
@ApiTags('keys')
@ApiCredentialRefusals()
@ApiForbiddenResponse({ type: ErrorResponseDto, description: 'The caller is not an administrator.' })
@UseGuards(AdministratorGuard)
@Controller('v1/keys')
export class KeysController {
  constructor(private readonly keys: KeysService) {}

  /** Creates a key. The answer holds the key itself, the only time it is ever shown. */
  @Post()
  @HttpCode(201)
  @ApiBody({
    type: CreateKeyDto,
    examples: {
      user: {
        summary: 'A key for one agent, for 30 days',
        value: { name: 'ci-pipeline', role: 'user', agents: [EXAMPLE_AGENT], expires_in: '30d' },
      },
    },
  })
  @ApiCreatedResponse({ type: CreatedKeyDto })
  @ApiJsonBodyRefusals()
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
