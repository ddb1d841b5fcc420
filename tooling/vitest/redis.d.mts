export declare const INSTALL_HINT: string;
export interface Node { host: string; port: number }
export interface Server extends Node {
  pid: number | undefined;
  dir: string;
  stop(): Promise<void>;
  kill(): Promise<unknown>;
}
export declare function has(cmd: string): boolean;
export declare function rawCommand(target: { host?: string; port: number; timeoutMs?: number }, ...args: string[]): Promise<string>;
export declare function isUp(host: string, port: number): Promise<boolean>;
export declare function freePorts(count: number): Promise<number[]>;
export declare function startServer(options?: { port?: number; args?: string[]; name?: string; tls?: boolean }): Promise<Server>;
export interface TestCertificates {
  /** PEM file of the throwaway CA that signed the server certificate: what a client must trust. */
  caFile: string;
  certFile: string;
  keyFile: string;
}
export interface TlsServer extends Server, TestCertificates {
  /** `rediss://127.0.0.1:<port>` (no password in it). */
  url: string;
}
export declare function makeTestCertificates(dir: string, options?: { altNames?: string }): TestCertificates;
export declare function startTlsServer(options?: { port?: number; password?: string; args?: string[]; altNames?: string }): Promise<TlsServer>;
export declare function startCluster(options?: { masters?: number; replicas?: number; args?: string[] }): Promise<{ nodes: Node[]; servers: Server[]; stop(): Promise<void> }>;
export declare function parseNodes(value: string): Node[];
export declare function runPrefix(): string;
export declare function ensureRedis(): Promise<{ url: string; stop(): Promise<void> }>;
