import 'reflect-metadata';
import { Body, Controller, Get, HttpCode, Module, Param, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';

/**
 * The framework we build on, with nothing of ours: Nest on Express, one controller answering the
 * same JSON as the Express floor. No auth, validation, metrics, logs or database.
 */
@Controller()
class FloorController {
  @Get('ping')
  ping(): { ok: boolean } {
    return { ok: true };
  }

  @Post('v1/agents/:name/invoke')
  @HttpCode(200)
  invoke(@Param('name') _name: string, @Body() body: { input: string }) {
    return { output: `Echo: ${body.input}`, usage: { input_tokens: 7, output_tokens: 5, total_tokens: 12 } };
  }
}

@Module({ controllers: [FloorController] })
class FloorModule {}

const app = await NestFactory.create<NestExpressApplication>(FloorModule, { logger: false });
await app.listen(Number(process.env.PORT), '127.0.0.1');
