/**
 * A stand-in for AWS Secrets Manager on 127.0.0.1 (AWS JSON 1.1, `X-Amz-Target:
 * secretsmanager.<Operation>`): GetSecretValue and DescribeSecret of the secrets the
 * rehearsal created from the template, with the values the test supplies (the
 * template's GenerateSecretString is not run: the test decides every key). A secret id
 * may be its ARN or its name. `setValue` replaces a value (as put-secret-value does).
 * Values are never logged.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SecretsStandIn {
  endpoint: string;
  addSecret(arn: string, name: string, value: string): void;
  setValue(arn: string, value: string): void;
  /** GetSecretValue requests answered, by secret ARN. */
  reads(arn: string): number;
  stop(): Promise<void>;
}

export async function startSecretsStandIn(): Promise<SecretsStandIn> {
  const secrets = new Map<string, { arn: string; name: string; value: string; versionId: string; reads: number }>();
  const find = (id: unknown) => [...secrets.values()].find((s) => s.arn === id || s.name === id);

  const answer = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID() });
    res.end(text);
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      let input: { SecretId?: unknown };
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { SecretId?: unknown };
      } catch {
        return answer(res, 400, { __type: 'SerializationException', message: 'the body is not JSON' });
      }
      const secret = find(input.SecretId);
      if (target === 'secretsmanager.GetSecretValue' || target === 'secretsmanager.DescribeSecret') {
        if (!secret) return answer(res, 400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
        if (target === 'secretsmanager.GetSecretValue') {
          secret.reads++;
          return answer(res, 200, {
            ARN: secret.arn,
            Name: secret.name,
            SecretString: secret.value,
            VersionId: secret.versionId,
            VersionStages: ['AWSCURRENT'],
            CreatedDate: Date.now() / 1000,
          });
        }
        return answer(res, 200, { ARN: secret.arn, Name: secret.name, VersionIdsToStages: { [secret.versionId]: ['AWSCURRENT'] } });
      }
      answer(res, 400, { __type: 'UnknownOperationException', message: `the Secrets Manager stand-in does not answer ${target || req.method}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    addSecret: (arn, name, value) => void secrets.set(arn, { arn, name, value, versionId: randomUUID(), reads: 0 }),
    setValue(arn, value) {
      const secret = secrets.get(arn);
      if (!secret) throw new Error(`no secret ${arn}`);
      secret.value = value;
      secret.versionId = randomUUID();
    },
    reads: (arn) => secrets.get(arn)?.reads ?? 0,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
