import type { TestEnvironment } from '../../../operator/test/support/testenv.js';

/** A manifest as helm renders it. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  [field: string]: unknown;
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/**
 * Client for server-side apply against the test API server, as `kubectl apply
 * --server-side` does it. REST paths come from the server's discovery
 * documents, so a kind that the server does not serve fails as in a cluster.
 */
export class Applier {
  private readonly discovery = new Map<string, ApiResource[]>();

  constructor(private readonly environment: TestEnvironment, private readonly fieldManager: string) {}

  /** Resolves the REST path of the object through API discovery, which is cached per apiVersion. */
  async path(manifest: Manifest, namespace?: string): Promise<string> {
    const { apiVersion, kind } = manifest;
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    let resources = this.discovery.get(apiVersion);
    if (resources === undefined) {
      const response = await this.environment.request('GET', base);
      if (response.status !== 200) throw new Error(`the API server does not serve ${apiVersion}: HTTP ${response.status}`);
      resources = (response.body as { resources: ApiResource[] }).resources.filter((resource) => !resource.name.includes('/'));
      this.discovery.set(apiVersion, resources);
    }
    const resource = resources.find((candidate) => candidate.kind === kind);
    if (resource === undefined) throw new Error(`the API server serves no ${kind} in ${apiVersion}`);
    const objectNamespace = manifest.metadata.namespace ?? namespace;
    if (resource.namespaced && objectNamespace === undefined) throw new Error(`${kind} ${manifest.metadata.name} has no namespace; set metadata.namespace or pass options.namespace`);
    const scope = resource.namespaced ? `/namespaces/${objectNamespace}` : '';
    return `${base}${scope}/${resource.name}/${manifest.metadata.name}`;
  }

  /**
   * Applies one object and resolves with the object that the server stored.
   * Rejects with the server's message when the server returns an error status.
   */
  async apply(manifest: Manifest, options: { namespace?: string; dryRun?: boolean } = {}): Promise<Manifest> {
    const target = await this.path(manifest, options.namespace);
    const query = `?fieldManager=${this.fieldManager}&force=true&fieldValidation=Strict${options.dryRun === true ? '&dryRun=All' : ''}`;
    const response = await this.environment.request('PATCH', target + query, manifest, 'application/apply-patch+yaml');
    if (response.status >= 300) {
      const message = (response.body as { message?: string }).message ?? JSON.stringify(response.body);
      throw new Error(`${manifest.kind} ${manifest.metadata.name}: HTTP ${response.status}: ${message}`);
    }
    return response.body as Manifest;
  }
}
