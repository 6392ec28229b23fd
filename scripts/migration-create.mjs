#!/usr/bin/env node
// `npm run migration:create -- <name>`: writes migrations/<timestamp>-<name>.ts with an up and a
// down, and registers it in migrations/index.ts (the list the data source runs, oldest first).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const name = process.argv[2];
if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
  console.error('usage: npm run migration:create -- <kebab-case-name>');
  process.exit(2);
}
const timestamp = Date.now();
const className = name.replace(/(^|-)([a-z0-9])/g, (_, __, c) => c.toUpperCase()) + timestamp;
const file = `migrations/${timestamp}-${name}.ts`;
if (existsSync(file)) {
  console.error(`${file} exists`);
  process.exit(1);
}
writeFileSync(
  file,
  `import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ${className} implements MigrationInterface {
  name = '${className}';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('');
  }
}
`,
);
const index = 'migrations/index.ts';
let text = readFileSync(index, 'utf8');
const importLine = `import { ${className} } from './${timestamp}-${name}.js';\n`;
text = text.replace(/(\n\/\*\*)/, `${importLine}$1`).replace(/\];\s*$/, `, ${className}];\n`);
writeFileSync(index, text);
console.log(`created ${file} and registered ${className} in ${index}`);
