/**
 * Who a task acts for: the Backstage user who started it and the groups the catalog says they belong
 * to. Paved authorizes (and records) that user, not this module.
 */
import { parseEntityRef, stringifyEntityRef, UserEntity } from '@backstage/catalog-model';
import { Actor } from './client';
import { taskError } from './report';

export function actorOf(user: { entity?: UserEntity; ref?: string } | undefined): Actor {
  const ref = user?.ref ?? (user?.entity ? stringifyEntityRef(user.entity) : undefined);
  if (!ref) {
    throw taskError(
      'Paved acts for the user who started the task, and this task has no user (was it started with a service token?)',
    );
  }
  const entity = user?.entity;
  const namespace = entity?.metadata.namespace ?? 'default';
  const groups = new Set<string>();
  for (const relation of entity?.relations ?? []) {
    if (relation.type === 'memberOf' && relation.targetRef.startsWith('group:')) {
      groups.add(relation.targetRef);
    }
  }
  for (const member of entity?.spec?.memberOf ?? []) {
    groups.add(
      stringifyEntityRef(parseEntityRef(member, { defaultKind: 'group', defaultNamespace: namespace })),
    );
  }
  return { user: ref, groups: [...groups].sort() };
}

/**
 * The team name of a form value: a bare name, or a group entity ref (OwnerPicker's value) in the
 * namespace Paved's teams live in.
 */
export function teamOf(value: string, namespace: string): string {
  if (!value.includes(':') && !value.includes('/')) {
    return value;
  }
  const ref = parseEntityRef(value, { defaultKind: 'group', defaultNamespace: namespace });
  if (ref.kind.toLocaleLowerCase('en-US') !== 'group' || ref.namespace !== namespace) {
    throw taskError(
      `team: ${value} is not a group of namespace '${namespace}', where Paved's teams are`,
    );
  }
  return ref.name;
}
