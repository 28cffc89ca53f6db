/**
 * The slice of Node-RED's runtime API these nodes use (Node-RED ships no
 * type definitions).
 */
export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export interface NodeMessage {
  [key: string]: unknown;
  _msgid?: string;
  payload?: unknown;
  topic?: unknown;
}

export type SendFunction = (msg: NodeMessage | null | (NodeMessage | null)[]) => void;
export type DoneFunction = (err?: Error) => void;

/** Properties every node definition from the editor carries. */
export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  z?: string;
}

export interface Node {
  readonly id: string;
  readonly type: string;
  name?: string;
  on(event: 'input', listener: (msg: NodeMessage, send: SendFunction, done: DoneFunction) => void): this;
  on(event: 'close', listener: (removed: boolean, done: () => void) => void): this;
  send(msg: NodeMessage | null | (NodeMessage | null)[]): void;
  /** An empty object clears the status. */
  status(status: NodeStatus): void;
  log(message: unknown): void;
  warn(message: unknown): void;
  error(message: unknown, msg?: NodeMessage): void;
  debug(message: unknown): void;
  trace(message: unknown): void;
}

export interface NodeAPI {
  nodes: {
    createNode(node: Node, def: NodeDef): void;
    registerType<N extends Node, D extends NodeDef>(type: string, constructor: (this: N, def: D) => void, options?: object): void;
    getNode(id: string): Node | null;
  };
  _(key: string, substitutions?: Record<string, unknown>): string;
}
