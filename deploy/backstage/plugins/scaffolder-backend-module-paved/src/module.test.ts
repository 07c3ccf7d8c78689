import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { scaffolderModulePaved } from './module';

describe('scaffolderModulePaved', () => {
  it('registers the create, deploy and rollback actions, configured from app-config', async () => {
    const actions: any[] = [];
    await startTestBackend({
      extensionPoints: [[scaffolderActionsExtensionPoint, { addActions: (...a: any[]) => actions.push(...a) }]],
      features: [
        scaffolderModulePaved,
        mockServices.rootConfig.factory({ data: { paved: { baseUrl: 'http://paved.test', token: 'delegate-token' } } }),
      ],
    });
    expect(actions.map(action => action.id)).toEqual([
      'paved:service:create',
      'paved:service:deploy',
      'paved:service:rollback',
    ]);
    expect(actions[0].supportsDryRun).toBe(true);
    expect(actions[0].schema.input).toBeDefined();
  });

  it('refuses to start without the Paved settings', async () => {
    await expect(
      startTestBackend({ extensionPoints: [[scaffolderActionsExtensionPoint, { addActions: () => {} }]], features: [scaffolderModulePaved] }),
    ).rejects.toThrow(/paved/);
  });
});
