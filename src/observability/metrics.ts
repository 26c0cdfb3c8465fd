/** The Prometheus registry and the sys/metrics route. */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { RouteDef } from '../http/router.js';

export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'secrets_sync_' });
  return registry;
}

export function metricsRoutes(registry: Registry): RouteDef[] {
  return [
    {
      pattern: 'sys/metrics',
      fields: { format: { type: 'string' } },
      handlers: {
        read: async (ctx) => {
          if (ctx.data.format === 'prometheus') return { text: { contentType: registry.contentType, body: await registry.metrics() } };
          return { rawBody: await registry.getMetricsAsJSON() };
        },
      },
    },
  ];
}
