import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordExporter,
} from '@opentelemetry/sdk-logs';
import { OTLPLogExporter as JsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';

type Resource = NonNullable<
  NonNullable<ConstructorParameters<typeof LoggerProvider>[0]>['resource']
>;

/** The SDK's resource interface, by hand (@opentelemetry/resources is not a dependency). */
function resourceOf(attributes: Record<string, string>): Resource {
  const r: Resource = {
    attributes,
    merge: () => r,
    getRawAttributes: () => Object.entries(attributes),
  };
  return r;
}

/**
 * A LoggerProvider of service `checkout` exporting through the real OTLP/HTTP exporter (JSON or
 * protobuf) to `url`; `codes` collects each export's result code (0: the answer was a success).
 */
export function otelProvider(
  encoding: 'json' | 'protobuf',
  url: string,
  headers: Record<string, string> = {},
): { provider: LoggerProvider; codes: number[] } {
  const otlp =
    encoding === 'json' ? new JsonExporter({ url, headers }) : new ProtoExporter({ url, headers });
  const codes: number[] = [];
  const exporter: LogRecordExporter = {
    export: (logs, done) => {
      // The exporter's ExportResult comes from its own copy of @opentelemetry/core.
      const report: (result: { code: number; error?: Error }) => void = done;
      otlp.export(logs, (r) => {
        codes.push(r.code);
        report(r);
      });
    },
    shutdown: () => otlp.shutdown(),
    forceFlush: () => otlp.forceFlush(),
  };
  const provider = new LoggerProvider({
    resource: resourceOf({ 'service.name': 'checkout' }),
    processors: [new BatchLogRecordProcessor({ exporter })],
  });
  return { provider, codes };
}
