// Validates the committed OpenAPI document the way other languages' tooling
// reads it: @apidevtools/swagger-parser checks it against the OpenAPI 3 schema
// and resolves every $ref. Used by .ci/run (`npm run openapi:validate`).
import SwaggerParser from '@apidevtools/swagger-parser';

for (const file of ['openapi.json', 'openapi.yaml']) {
  const api = await SwaggerParser.validate(file);
  const operations = Object.values(api.paths).flatMap((item) =>
    ['get', 'put', 'post', 'delete', 'patch'].filter((m) => item[m]),
  ).length;
  console.log(
    `${file}: valid OpenAPI ${api.openapi}, ${operations} operations, every $ref resolved`,
  );
}
