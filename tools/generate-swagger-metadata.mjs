// Writes src/metadata.ts: what the @nestjs/swagger CLI plugin learns from
// the DTOs and controllers (types, JSDoc, class-validator rules). `nest
// build` applies the plugin itself, but ts-jest does not, so the app loads
// this file to build the same OpenAPI document in both. CI checks it is current.
import { PluginMetadataGenerator } from '@nestjs/cli/lib/compiler/plugins/plugin-metadata-generator.js';
import { ReadonlyVisitor } from '@nestjs/swagger/plugin';
import { fileURLToPath } from 'node:url';

const sourceRoot = fileURLToPath(new URL('../src', import.meta.url));

new PluginMetadataGenerator().generate({
  visitors: [
    new ReadonlyVisitor({
      introspectComments: true,
      classValidatorShim: true,
      pathToSource: sourceRoot,
    }),
  ],
  outputDir: sourceRoot,
  filename: 'metadata.ts',
  tsconfigPath: 'tsconfig.build.json',
  watch: false,
});
