/** The gRPC server: @grpc/grpc-js, insecure, 127.0.0.1, one unary echo method. */
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { benchService } from '../lib/grpc-service.js';
import type { StartServer } from './types.js';

export const startGrpcServer: StartServer = async (index, counter) => {
  const server = new Server();
  server.addService(benchService, {
    echo: (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      counter.calls++;
      callback(null, call.request);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  return {
    info: { host: '127.0.0.1', port, name: `grpc${index}` },
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
};
