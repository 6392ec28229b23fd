import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PluginMetadataGenerator } from '@nestjs/cli/lib/compiler/plugins/plugin-metadata-generator.js';
import { SwaggerModule } from '@nestjs/swagger';
import { ReadonlyVisitor } from '@nestjs/swagger/plugin';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * Gives @nestjs/swagger, read from the TypeScript sources, the DTO and route metadata that the
 * Swagger CLI plugin of nest-cli.json compiles into dist/: SWC, which compiles the tests, runs
 * no TypeScript plugin. This is the plugin's own read-only mode, as NestJS documents it for SWC.
 */
export async function loadSwaggerPluginMetadata(): Promise<void> {
  const nestCli = JSON.parse(await readFile(join(ROOT, 'nest-cli.json'), 'utf8')) as {
    compilerOptions: { plugins: { name: string; options?: Record<string, unknown> }[] };
  };
  const plugin = nestCli.compilerOptions.plugins.find((entry) => entry.name === '@nestjs/swagger');
  if (!plugin) throw new Error('nest-cli.json no longer uses the @nestjs/swagger plugin');

  const parsed = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error('tsconfig.json could not be read');
  // Without an outDir the plugin points its type imports at the sources rather than at dist/.
  const program = ts.createProgram(parsed.fileNames, { ...parsed.options, outDir: undefined, noEmit: true });

  const dir = await mkdtemp(join(tmpdir(), 'agentspec-swagger-metadata-'));
  try {
    new PluginMetadataGenerator().generate({
      visitors: [new ReadonlyVisitor({ ...plugin.options, pathToSource: dir })],
      outputDir: dir,
      filename: 'metadata.ts',
      tsProgramRef: program,
      printDiagnostics: false,
    });
    const { default: metadata } = (await import(pathToFileURL(join(dir, 'metadata.ts')).href)) as {
      default: () => Promise<Record<string, unknown>>;
    };
    await SwaggerModule.loadPluginMetadata(metadata);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
