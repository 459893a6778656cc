import type { BrandService } from './types.js';

/**
 * Names of a brand's resources on the shared clusters. Every name derives from
 * the brand id, which the Tenant schema limits to a DNS label of at most 32
 * characters, so each name fits the limits of its system (63 bytes for
 * PostgreSQL identifiers and Kubernetes names).
 */

export function brandNamespace(brand: string): string {
  return `brand-${brand}`;
}

export function vhostName(brand: string): string {
  return `croupier-${brand}`;
}

export function rabbitMqUser(brand: string, service: BrandService): string {
  return `croupier-${brand}-${service}`;
}

export function redisUser(brand: string, service: BrandService): string {
  return `croupier-${brand}-${service}`;
}

/** PostgreSQL identifiers take underscores; brand ids take hyphens. */
function sqlSafe(brand: string): string {
  return brand.replaceAll('-', '_');
}

export function databaseName(brand: string): string {
  return `croupier_${sqlSafe(brand)}`;
}

export function databaseRole(brand: string, service: BrandService): string {
  return `croupier_${sqlSafe(brand)}_${service}`;
}
