// Validates Backstage entities with Backstage's own validators.
// Input: a JSON array of entities on stdin. Output: a JSON array of {kind, name, ok, error} on stdout.
import {
  DefaultNamespaceEntityPolicy,
  EntityPolicies,
  FieldFormatEntityPolicy,
  NoForeignRootFieldsEntityPolicy,
  SchemaValidEntityPolicy,
  componentEntityV1alpha1Validator,
  entitySchemaValidator,
  groupEntityV1alpha1Validator,
  resourceEntityV1alpha1Validator,
  systemEntityV1alpha1Validator,
} from '@backstage/catalog-model';
import { templateEntityV1beta3Validator } from '@backstage/plugin-scaffolder-common';

const kindValidators = [
  componentEntityV1alpha1Validator,
  resourceEntityV1alpha1Validator,
  groupEntityV1alpha1Validator,
  systemEntityV1alpha1Validator,
  templateEntityV1beta3Validator,
];

// The policies the catalog applies when it ingests an entity.
const policies = EntityPolicies.allOf([
  new DefaultNamespaceEntityPolicy(),
  new NoForeignRootFieldsEntityPolicy(),
  new FieldFormatEntityPolicy(),
  new SchemaValidEntityPolicy(),
]);
const validateEnvelope = entitySchemaValidator();

async function check(entity) {
  validateEnvelope(entity);
  const enforced = await policies.enforce(entity);
  if (!enforced) throw new Error('rejected by the entity policies');
  const matched = [];
  for (const validator of kindValidators) {
    if (await validator.check(enforced)) matched.push(validator);
  }
  if (matched.length === 0) throw new Error(`no validator accepts kind ${entity.apiVersion} ${entity.kind}`);
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const entities = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const results = [];
for (const entity of entities) {
  try {
    await check(entity);
    results.push({ kind: entity.kind, name: entity.metadata?.name, ok: true });
  } catch (error) {
    results.push({ kind: entity?.kind, name: entity?.metadata?.name, ok: false, error: String(error?.message ?? error) });
  }
}
process.stdout.write(JSON.stringify(results));
