/**
 * The gRPC service, defined in code (no .proto, no proto-loader): one unary method whose
 * messages go through the project codec, so gRPC is compared on transport, not serialisation.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { decodeValue, encodeValue } from '../../src/rpc/codec.js';

const codec = {
  path: '/bench.Bench/Echo',
  requestStream: false,
  responseStream: false,
  requestSerialize: (value: unknown): Buffer => encodeValue(value),
  requestDeserialize: (bytes: Buffer): unknown => decodeValue(bytes),
  responseSerialize: (value: unknown): Buffer => encodeValue(value),
  responseDeserialize: (bytes: Buffer): unknown => decodeValue(bytes),
};

export const benchService: ServiceDefinition = { echo: codec };
