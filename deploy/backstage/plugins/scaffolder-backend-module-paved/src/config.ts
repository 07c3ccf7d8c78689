/** The `paved` section of Backstage's app-config (see config.d.ts). */
import { Config } from '@backstage/config';

export interface PavedSettings {
  baseUrl: string;
  publicUrl: string;
  token: string;
  groupNamespace: string;
  appBaseUrl?: string;
  pollIntervalMs: number;
  followTimeoutMs: number;
}

export function readPavedSettings(config: Config): PavedSettings {
  const paved = config.getConfig('paved');
  const baseUrl = paved.getString('baseUrl').replace(/\/+$/, '');
  return {
    baseUrl,
    publicUrl: (paved.getOptionalString('publicUrl') ?? baseUrl).replace(/\/+$/, ''),
    token: paved.getString('token'),
    groupNamespace: paved.getOptionalString('groupNamespace') ?? 'default',
    appBaseUrl: config.getOptionalString('app.baseUrl')?.replace(/\/+$/, ''),
    pollIntervalMs: paved.getOptionalNumber('scaffolder.pollIntervalMs') ?? 500,
    followTimeoutMs: (paved.getOptionalNumber('scaffolder.followTimeoutMinutes') ?? 30) * 60_000,
  };
}
