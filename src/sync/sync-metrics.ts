/** Prometheus metrics of the sync engine. Labels never carry secret names or values. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class SyncMetrics {
  readonly operations: Counter<'destination_type' | 'operation' | 'result'>;
  readonly opDuration: Histogram<'destination_type' | 'operation'>;
  readonly queueDepth: Gauge;
  readonly propagation: Histogram;

  constructor(registry: Registry) {
    this.operations = new Counter({
      name: 'secrets_sync_operations_total',
      help: 'Destination operations by destination type, operation and result',
      labelNames: ['destination_type', 'operation', 'result'],
      registers: [registry],
    });
    this.opDuration = new Histogram({
      name: 'secrets_sync_operation_duration_seconds',
      help: 'Duration of successful destination operations',
      labelNames: ['destination_type', 'operation'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.queueDepth = new Gauge({ name: 'secrets_sync_queue_depth', help: 'Associations waiting to be synced', registers: [registry] });
    this.propagation = new Histogram({
      name: 'secrets_sync_propagation_seconds',
      help: 'Time from a change being queued to it being applied at the destination',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
  }

  observeOp(type: string, operation: string, result: string, ms: number): void {
    this.operations.inc({ destination_type: type, operation, result });
    if (result === 'ok') this.opDuration.observe({ destination_type: type, operation }, ms / 1000);
  }
}
